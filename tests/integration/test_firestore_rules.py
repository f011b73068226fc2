"""infra/firestore.rules, enforced by a Firestore emulator started with ``--rules``.

Requests carry ``Authorization: Bearer <unsigned ID token>`` as the emulator
accepts from clients (it then evaluates the rules with ``request.auth``);
``Bearer owner`` is the admin, as the functions are, and bypasses the rules.
Runs its own emulator on TEST_PORT_BASE + 9 (the stack's emulator has no rules).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time

import pytest
import requests

from infra.local.stack import sdk_root
from tests.conftest import REPO, TEST_PORT_BASE

PROJECT = "rules-test"
PORT = TEST_PORT_BASE + 9
DOCS = f"http://127.0.0.1:{PORT}/v1/projects/{PROJECT}/databases/(default)/documents"
ADMIN = {"Authorization": "Bearer owner"}


def id_token(uid: str) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"sub": uid, "user_id": uid, "aud": PROJECT, "iss": f"https://securetoken.google.com/{PROJECT}",
              "iat": 1_700_000_000, "exp": 4_100_000_000, "auth_time": 1_700_000_000,
              "firebase": {"sign_in_provider": "anonymous"}}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    log = tmp_path_factory.mktemp("firestore-rules") / "emulator.log"
    binary = sdk_root() / "platform/cloud-firestore-emulator/cloud_firestore_emulator"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(binary), "start", "--host=127.0.0.1", f"--port={PORT}", f"--project_id={PROJECT}",
             f"--rules={REPO / 'infra/firestore.rules'}"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "JAVA_TOOL_OPTIONS": "-Xmx256m"},
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{PORT}/", timeout=1).text.strip() == "Ok":
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Firestore emulator with rules did not start:\n" + log.read_text())
            time.sleep(0.2)
        # The data the rules look at: alice owns c1, which has a reply.
        for path, fields in [("conversations/c1", {"user_id": "alice"}), ("replies/c1/messages/m1", {"text": "hi"})]:
            body = {"fields": {k: {"stringValue": v} for k, v in fields.items()}}
            requests.patch(f"{DOCS}/{path}", json=body, headers=ADMIN, timeout=60).raise_for_status()  # the first request compiles the rules: slow
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def as_user(uid: str | None) -> dict:
    return {"Authorization": f"Bearer {id_token(uid)}"} if uid else {}


@pytest.mark.parametrize(
    "who, path, allowed",
    [
        ("alice", "replies/c1/messages/m1", True),  # the owner reads her reply
        ("mallory", "replies/c1/messages/m1", False),  # a stranger may not
        (None, "replies/c1/messages/m1", False),  # nor anyone signed out
        ("alice", "conversations/c1", False),  # turns and decisions are the functions' own
        ("alice", "decisions/m1", False),
        ("alice", "candidates/neko", False),
    ],
)
def test_reads(emulator, who, path, allowed):
    response = requests.get(f"{DOCS}/{path}", headers=as_user(who), timeout=5)
    assert response.status_code == (200 if allowed else 403), response.text


def test_a_stranger_cannot_list_someone_elses_replies(emulator):
    assert requests.get(f"{DOCS}/replies/c1/messages", headers=as_user("mallory"), timeout=5).status_code == 403
    assert requests.get(f"{DOCS}/replies/c1/messages", headers=as_user("alice"), timeout=5).status_code == 200


@pytest.mark.parametrize("who", ["alice", "mallory", None])
@pytest.mark.parametrize("path", ["replies/c1/messages/m1", "replies/c1/messages/new", "conversations/c1"])
def test_no_client_may_write(emulator, who, path):
    body = {"fields": {"text": {"stringValue": "forged"}}}
    response = requests.patch(f"{DOCS}/{path}", json=body, headers=as_user(who), timeout=5)
    assert response.status_code == 403, response.text
    response = requests.delete(f"{DOCS}/{path}", headers=as_user(who), timeout=5)
    assert response.status_code == 403, response.text
