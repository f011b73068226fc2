"""Replies reach a webhook caller: by callback and by GET /v1/replies/{id}, through the
running stack with AUTH_MODE=required, with the client helpers in Python and Node.

Ingress is restarted with a webhook key for this module; the callback's
receiver is a server of the test's on 127.0.0.1 (the stack allows loopback
callbacks only: CALLBACK_LOOPBACK_ONLY)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
import requests

from shared.auth import sign
from shared.client import Client, verify_callback
from tests.e2e.receiver import OK, Receiver, Step
from tests.e2e.reliability import services_with
from tests.integration.test_ingress_auth import unsigned_id_token
from tests.support import eventually

SECRET = "callbacks-webhook-key"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def client(stack):
    # firebase_admin accepts the Auth emulator's unsigned tokens with this set
    # (no key fetch, and no revocation look-up: nothing listens there).
    auth = {"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9", "CHECK_REVOKED": "false"}
    with services_with(stack, ("ingress",), AUTH_MODE="required", WEBHOOK_SECRET=SECRET, **auth):
        yield Client(stack.url("ingress"), SECRET)


@pytest.fixture(scope="module")
def callback_secret(stack) -> str:
    return stack.env()["CALLBACK_SECRET"]


def stored_reply(clients, reply_path: str) -> dict:
    return eventually(lambda: clients.firestore.document(reply_path).get().to_dict(), timeout=30)


def post(client, unique: str, receiver: Receiver | None = None, text: str = "猫が好きです") -> dict:
    body = {"user_id": unique, "text": text, **({"callback_url": receiver.url()} if receiver else {})}
    response = client.post("/v1/utterances", body)
    assert response.status_code == 202, response.text
    return response.json()


@pytest.mark.slow
def test_a_signed_utterance_with_a_callback_gets_its_reply_posted_once_verifiable(client, callback_secret, clients, unique):
    with Receiver() as receiver:
        accepted = post(client, unique, receiver)
        message_id = accepted["message_id"]
        assert eventually(lambda: receiver.of(message_id), timeout=30), "no callback"
        time.sleep(2)  # nothing more comes
        (call,) = receiver.of(message_id)
    document = verify_callback(callback_secret, call.body, call.headers)
    assert document["type"] == "reply.created"
    assert document["data"]["message_id"] == message_id
    assert document["data"]["conversation_id"] == accepted["conversation_id"]
    assert document["data"]["reply"] == stored_reply(clients, accepted["reply_path"])
    with pytest.raises(Exception):
        verify_callback("whsec_" + "d3Jvbmcta2V5", call.body, call.headers)


@pytest.mark.slow
def test_a_receiver_failing_twice_still_gets_the_reply_exactly_once(client, callback_secret, unique):
    script = lambda path, attempt: Step(500) if attempt < 2 else OK  # noqa: E731
    with Receiver(script) as receiver:
        message_id = post(client, unique, receiver)["message_id"]
        assert eventually(lambda: any(c.status == 200 for c in receiver.of(message_id)), timeout=60), "never delivered"
        time.sleep(3)  # past a redelivery: none comes after the success
        calls = receiver.of(message_id)
    assert [c.status for c in calls] == [500, 500, 200]
    assert len({c.body for c in calls}) == 1  # the same document each time, signed anew
    assert verify_callback(callback_secret, calls[-1].body, calls[-1].headers)["data"]["message_id"] == message_id


@pytest.mark.slow
def test_the_caller_reads_its_reply_with_get_waiting_for_it(client, stack, clients, unique):
    accepted = post(client, unique)
    response = client.get(f"/v1/replies/{accepted['message_id']}?wait=5")
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["reply"] == stored_reply(clients, accepted["reply_path"])
    assert (document["user_id"], document["conversation_id"]) == (unique, accepted["conversation_id"])


@pytest.mark.slow
def test_get_refusals_are_json(client, stack, unique):
    url = stack.url("ingress")
    accepted = post(client, unique)
    mine = f"/v1/replies/{accepted['message_id']}?wait=5"
    started = time.monotonic()
    missing = client.get("/v1/replies/01KB0000000000000000000000?wait=1")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert time.monotonic() - started >= 1.0
    hostile = client.get("/v1/replies/..%2F..%2Fdecisions")
    assert hostile.status_code in (400, 404) and hostile.json()["error"]["code"] in ("invalid_argument", "not_found")
    assert client.get("/v1/replies/01KB0000000000000000000000?wait=x").json()["error"]["code"] == "invalid_argument"
    unsigned = requests.get(url + mine, timeout=10)
    assert (unsigned.status_code, unsigned.json()["error"]["code"]) == (401, "unauthenticated")
    # The same user signed in with an app's ID token did not post it: 403.
    token = unsigned_id_token(stack.project, unique)
    other = requests.get(url + mine, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert (other.status_code, other.json()["error"]["code"]) == (403, "permission_denied")
    # A signature is good once: the same GET again is a replay.
    header = {"X-Zatsudan-Signature": sign(SECRET, mine.encode())}
    assert requests.get(url + mine, headers=header, timeout=30).status_code == 200
    assert requests.get(url + mine, headers=header, timeout=30).status_code == 401


@pytest.mark.slow
def test_the_readmes_shell_helper_signs_a_get(client, stack, unique):
    message_id = post(client, unique)["message_id"]
    target = f"/v1/replies/{message_id}?wait=5"
    header = subprocess.run(
        [os.path.join(REPO, ".venv/bin/python"), "-m", "shared.client", "sign", target],
        capture_output=True, text=True, check=True, cwd=REPO, env={**os.environ, "WEBHOOK_SECRET": SECRET, "PYTHONPATH": REPO},
    ).stdout.strip()
    response = requests.get(stack.url("ingress") + target, headers={"X-Zatsudan-Signature": header}, timeout=30)
    assert response.status_code == 200, response.text


@pytest.mark.slow
def test_the_node_helpers_sign_and_verify_against_the_running_ingress(client, stack, callback_secret, unique):
    node = shutil.which("node")
    assert node, "node is required (make test checks it)"
    folder = os.path.join(REPO, "clients", "node")
    assert os.path.isdir(os.path.join(folder, "node_modules", "standardwebhooks")), "run `make node-client` (make test does)"
    body, t = '{"user_id": "u1", "text": "猫"}', 1_700_000_000
    env = {
        **os.environ, "INGRESS_URL": stack.url("ingress"), "WEBHOOK_SECRET": SECRET, "CALLBACK_SECRET": callback_secret,
        "USER_ID": unique, "EXPECTED_BODY": body, "EXPECTED_T": str(t), "EXPECTED_SIGNATURE": sign(SECRET, body.encode(), t),
    }  # fmt: skip
    done = subprocess.run([node, "--test", "test/"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
