"""Replays and retries at ingress (AUTH_MODE=required), in process, on the Firestore
and Pub/Sub emulators: a signature is good for one request, and an Idempotency-Key
makes a retry answer the first request's 202 without publishing again."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.auth import SIGNATURE_HEADER, sign
from tests.integration.test_ingress_auth import unsigned_id_token
from tests.support import ingress_with_auth

SECRET = "replay-secret"


@pytest.fixture(scope="module")
def client(settings):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9")
        yield ingress_with_auth(settings, SECRET, "ingress-replay")


def post(client, body: bytes, **headers):
    return client.post("/v1/utterances", data=body, content_type="application/json", headers=headers)


def body_of(unique: str, text: str = "猫が好きです") -> bytes:
    return json.dumps({"user_id": f"u{unique}", "text": text, "conversation_id": unique}).encode()


def published_ids(reader, unique: str, expect: int) -> list[str]:
    return [json.loads(m.data)["message_id"] for m in reader.read(expect=expect, timeout=2, settle=1)
            if json.loads(m.data)["conversation_id"] == unique]


def test_a_replayed_signature_is_401_and_publishes_nothing(client, pull, unique):
    reader = pull("utterances")
    body = body_of(unique)
    header = sign(SECRET, body)
    first = post(client, body, **{SIGNATURE_HEADER: header})
    assert first.status_code == 202, first.get_data(as_text=True)
    replayed = post(client, body, **{SIGNATURE_HEADER: header})
    assert (replayed.status_code, replayed.get_json()["error"]["code"]) == (401, "unauthenticated")
    assert "replay" in replayed.get_json()["error"]["message"]
    assert published_ids(reader, unique, expect=2) == [first.get_json()["message_id"]]


def test_the_same_idempotency_key_and_body_twice_answers_the_same_202_and_publishes_once(client, pull, unique):
    reader = pull("utterances")
    body, key = body_of(unique), f"key-{uuid.uuid4()}"
    # A webhook retrying a timed-out POST signs it anew (a signature is good once).
    first = post(client, body, **{SIGNATURE_HEADER: sign(SECRET, body), "Idempotency-Key": key})
    again = post(client, body, **{SIGNATURE_HEADER: sign(SECRET, body, timestamp=int(__import__("time").time()) - 1),
                                  "Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (202, 202), again.get_data(as_text=True)
    assert again.get_json() == first.get_json()
    assert published_ids(reader, unique, expect=2) == [first.get_json()["message_id"]]


def test_a_retry_with_the_very_same_signature_and_key_is_answered_not_refused(client, pull, unique):
    reader = pull("utterances")
    body, key = body_of(unique), f"key-{uuid.uuid4()}"
    headers = {SIGNATURE_HEADER: sign(SECRET, body), "Idempotency-Key": key}
    first, again = post(client, body, **headers), post(client, body, **headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.get_json() == first.get_json()
    assert published_ids(reader, unique, expect=2) == [first.get_json()["message_id"]]
    # ...but the captured signature with another key (or none) is still a replay.
    other = post(client, body, **{SIGNATURE_HEADER: headers[SIGNATURE_HEADER], "Idempotency-Key": key + "x"})
    assert other.status_code == 401


def test_the_same_key_with_another_body_is_422_and_publishes_nothing_more(client, pull, unique):
    reader = pull("utterances")
    key = f"key-{uuid.uuid4()}"
    body, changed = body_of(unique), body_of(unique, text="犬が好きです")
    first = post(client, body, **{SIGNATURE_HEADER: sign(SECRET, body), "Idempotency-Key": key})
    reused = post(client, changed, **{SIGNATURE_HEADER: sign(SECRET, changed), "Idempotency-Key": key})
    assert first.status_code == 202
    assert (reused.status_code, reused.get_json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert published_ids(reader, unique, expect=2) == [first.get_json()["message_id"]]


def test_keys_are_per_caller(client, settings, pull, unique):
    """Two users using the same key each get their own answer."""
    reader = pull("utterances")
    key = f"key-{uuid.uuid4()}"
    answers = []
    for user in ("a", "b"):
        body = json.dumps({"user_id": f"{user}{unique}", "text": "hello", "conversation_id": f"{user}{unique}"}).encode()
        token = unsigned_id_token(settings.project, f"{user}{unique}")
        answers.append(post(client, body, Authorization=f"Bearer {token}", **{"Idempotency-Key": key}))
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].get_json()["message_id"] != answers[1].get_json()["message_id"]


def test_concurrent_requests_with_one_key_publish_once(client, pull, unique):
    reader = pull("utterances")
    body, key = body_of(unique), f"key-{uuid.uuid4()}"
    token_headers = [{SIGNATURE_HEADER: sign(SECRET, body, timestamp=int(__import__("time").time()) - i),
                      "Idempotency-Key": key} for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda h: post(client, body, **h), token_headers))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {202, 409} and 202 in statuses, [a.get_data(as_text=True) for a in answers]
    accepted = {a.get_json()["message_id"] for a in answers if a.status_code == 202}
    assert len(accepted) == 1
    assert published_ids(reader, unique, expect=2) == list(accepted)


def test_a_malformed_key_is_400(client, unique):
    body = body_of(unique)
    response = post(client, body, **{SIGNATURE_HEADER: sign(SECRET, body), "Idempotency-Key": "has spaces in it"})
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "invalid_argument")
