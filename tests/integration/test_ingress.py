"""ingress over HTTP, served by functions-framework, publishing to the Pub/Sub emulator."""

from __future__ import annotations

import json

import pytest
import requests

from shared.events import UtteranceEvent

MALFORMED = [
    # (description, headers, body)
    ("not JSON", {"content-type": "application/json"}, b"{not json"),
    ("wrong content type", {"content-type": "text/plain"}, b'{"user_id": "u", "text": "hi"}'),
    ("no content type", {}, b'{"user_id": "u", "text": "hi"}'),
    ("JSON array", {"content-type": "application/json"}, b"[]"),
    ("missing text", {"content-type": "application/json"}, b'{"user_id": "u"}'),
    ("missing user", {"content-type": "application/json"}, b'{"text": "hi"}'),
    ("empty text", {"content-type": "application/json"}, b'{"user_id": "u", "text": "  "}'),
    ("text too long", {"content-type": "application/json"}, json.dumps({"user_id": "u", "text": "a" * 1001}).encode()),
    ("text not a string", {"content-type": "application/json"}, b'{"user_id": "u", "text": 42}'),
    ("null user", {"content-type": "application/json"}, b'{"user_id": null, "text": "hi"}'),
    ("unknown field", {"content-type": "application/json"}, b'{"user_id": "u", "text": "hi", "admin": true}'),
    ("bad lang", {"content-type": "application/json"}, b'{"user_id": "u", "text": "hi", "lang": "fr"}'),
    ("bad conversation id", {"content-type": "application/json"}, b'{"user_id": "u", "text": "hi", "conversation_id": "../x"}'),
    ("invalid UTF-8", {"content-type": "application/json"}, b'{"user_id": "u", "text": "\xff\xfe"}'),
    ("huge body", {"content-type": "application/json"}, b'{"user_id": "u", "text": "' + b"a" * 100_000 + b'"}'),
]


def post(stack, body: bytes, headers: dict) -> requests.Response:
    return requests.post(f"{stack.url('ingress')}/v1/utterances", data=body, headers=headers, timeout=10)


def test_healthz_answers_200(stack):
    response = requests.get(f"{stack.url('ingress')}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_accepted_utterance_is_published_with_the_conversation_as_ordering_key(stack, pull, unique):
    reader = pull("utterances")
    response = requests.post(
        f"{stack.url('ingress')}/v1/utterances",
        json={"user_id": "u1", "text": "猫が好きです", "conversation_id": unique},
        timeout=10,
    )
    assert response.status_code == 202
    answer = response.json()
    assert set(answer) == {"conversation_id", "message_id", "algorithm", "reply_path"}
    assert answer["conversation_id"] == unique
    assert answer["reply_path"] == f"replies/{unique}/messages/{answer['message_id']}"

    (message,) = reader.read(expect=1)
    assert message.ordering_key == unique
    event = UtteranceEvent.from_json(message.data)
    assert (event.message_id, event.algorithm, event.lang) == (answer["message_id"], answer["algorithm"], "ja")
    assert 0 < event.propensity <= 1


def test_message_ids_are_unique_and_time_sortable(stack):
    ids = []
    for n in range(20):
        response = requests.post(
            f"{stack.url('ingress')}/v1/utterances", json={"user_id": "u", "text": f"hello {n}"}, timeout=10
        )
        ids.append(response.json()["message_id"])
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


@pytest.mark.parametrize("description, headers, body", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_request_gets_a_json_4xx(stack, description, headers, body):
    response = post(stack, body, headers)
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]


def test_a_batch_of_malformed_requests_publishes_nothing(stack, pull):
    reader = pull("utterances")
    statuses = {post(stack, body, headers).status_code for _, headers, body in MALFORMED}
    assert all(400 <= s < 500 for s in statuses)
    assert reader.read(expect=1, timeout=1.5) == []


@pytest.mark.parametrize("method, path, status", [("GET", "/v1/utterances", 405), ("POST", "/nowhere", 404)])
def test_unknown_routes_answer_json(stack, method, path, status):
    response = requests.request(method, f"{stack.url('ingress')}{path}", json={}, timeout=5)
    assert response.status_code == status
    assert response.json()["error"]["code"]
