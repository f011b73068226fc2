"""Feedback: ingress over HTTP -> Pub/Sub `feedback` -> log sink -> BigQuery `feedback`, once."""

from __future__ import annotations

import json

import pytest
import requests

from shared import ids, timeutil
from shared.events import FeedbackEvent
from tests.support import eventually, query_rows, record_answer

MESSAGE_ID = "01KB0000000000000000000000"
REJECTED = [
    # (description, body, message fragment)
    ("missing reward", {"message_id": MESSAGE_ID}, "reward is required"),
    ("reward too big", {"message_id": MESSAGE_ID, "reward": 1.5}, "between -1 and 1"),
    ("reward a string", {"message_id": MESSAGE_ID, "reward": "1"}, "must be a number"),
    ("reward a boolean", {"message_id": MESSAGE_ID, "reward": True}, "must be a number"),
    ("missing message id", {"reward": 1}, "message_id is required"),
    ("bad message id", {"message_id": "../x", "reward": 1}, "ULID"),
    ("bad source", {"message_id": MESSAGE_ID, "reward": 1, "source": "guess"}, "explicit"),
    ("unknown field", {"message_id": MESSAGE_ID, "reward": 1, "stars": 5}, "unknown field"),
]


def post_feedback(stack, body) -> requests.Response:
    return requests.post(f"{stack.url('ingress')}/v1/feedback", json=body, timeout=10)


def feedback_rows(clients, settings, feedback_id: str) -> list[dict]:
    return query_rows(
        clients.bigquery, f"SELECT * FROM `{settings.feedback_table_id}` WHERE feedback_id = '{feedback_id}'"
    )


@pytest.mark.parametrize("description, body, fragment", REJECTED, ids=[r[0] for r in REJECTED])
def test_bad_feedback_is_a_json_400_and_nothing_is_published(stack, pull, description, body, fragment):
    published = pull("feedback")
    response = post_feedback(stack, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("invalid_argument", "unknown_field")
    assert fragment in response.json()["error"]["message"]
    assert published.read(expect=1, timeout=0.5) == []


def test_feedback_becomes_one_row(stack, clients, settings, unique):
    message_id = ids.new_message_id()
    record_answer(clients.firestore, message_id, unique)
    response = post_feedback(stack, {"message_id": message_id, "reward": -0.5, "user_id": unique})
    assert response.status_code == 202
    feedback_id = response.json()["feedback_id"]
    (row,) = eventually(lambda: feedback_rows(clients, settings, feedback_id), timeout=20)
    assert (row["message_id"], row["reward"], row["source"], row["user_id"]) == (message_id, -0.5, "explicit", unique)


@pytest.mark.parametrize("rater", ["someone-else", None], ids=["another user", "no user"])
def test_feedback_on_another_users_reply_is_403_and_nothing_is_published(stack, clients, pull, unique, rater):
    published = pull("feedback")
    message_id = ids.new_message_id()
    record_answer(clients.firestore, message_id, unique)
    body = {"message_id": message_id, "reward": -1, **({"user_id": rater} if rater else {})}
    response = post_feedback(stack, body)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")
    assert published.read(expect=1, timeout=1.0) == []


def test_feedback_on_a_message_never_answered_is_404(stack, pull, unique):
    published = pull("feedback")
    response = post_feedback(stack, {"message_id": ids.new_message_id(), "reward": 1, "user_id": unique})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert published.read(expect=1, timeout=1.0) == []


def test_redelivered_feedback_is_one_row(clients, settings):
    event = FeedbackEvent(
        feedback_id=ids.new_message_id(),
        message_id=ids.new_message_id(),
        user_id="tester",
        reward=1.0,
        source="continued",
        given_at=timeutil.iso(timeutil.now()),
    )
    topic = clients.publisher.topic_path(settings.project, settings.topics.feedback)
    for _ in range(3):
        clients.publisher.publish(topic, event.to_json(), feedback_id=event.feedback_id).result()
    assert eventually(lambda: feedback_rows(clients, settings, event.feedback_id), timeout=20)
    eventually(lambda: False, timeout=3)  # let the other deliveries finish
    assert len(feedback_rows(clients, settings, event.feedback_id)) == 1


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"not json at all", "not JSON"),
        (json.dumps({"feedback_id": "x", "message_id": MESSAGE_ID, "reward": 1}).encode(), "missing field"),
        (
            json.dumps(
                {"feedback_id": MESSAGE_ID, "message_id": MESSAGE_ID, "user_id": "u", "reward": 7,
                 "source": "explicit", "given_at": "2026-01-01T00:00:00Z"}
            ).encode(),
            "reward must be in [-1, 1]",
        ),
    ],
    ids=["not-json", "missing-field", "reward-out-of-range"],
)
def test_malformed_feedback_is_dead_lettered_with_its_reason(clients, settings, pull, payload, reason):
    dead = pull("feedback-dead")
    topic = clients.publisher.topic_path(settings.project, settings.topics.feedback)
    clients.publisher.publish(topic, payload).result()
    (message,) = dead.read(expect=1, timeout=20)
    assert message.data == payload
    assert reason in message.attributes["dead_letter_reason"]
    assert message.attributes["dead_letter_source"] == "log_sink"
