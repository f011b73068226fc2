"""Feedback: the request rules, the event, the topic routing of the log sink, the SQL text."""

from __future__ import annotations

import pytest

from shared import sql
from shared.config import Settings
from shared.errors import ApiError
from shared.events import FeedbackEvent, SchemaError
from shared.ingress import IngressService
from shared.messaging.push import PushByTopic
from shared.router import WeightedRouter

from .fakes import FakePublisher

MESSAGE_ID = "01KB0000000000000000000000"


def service(publisher=None) -> IngressService:
    # MESSAGE_ID answered u-owner's line: u-owner may rate it.
    return IngressService(
        Settings(), WeightedRouter({"bm25": 1.0}), publisher or FakePublisher(), answered_user=lambda m: "u-owner"
    )


@pytest.mark.parametrize(
    "body, fragment",
    [
        ([], "JSON object"),
        ({"message_id": MESSAGE_ID}, "reward is required"),
        ({"message_id": MESSAGE_ID, "reward": None}, "number"),
        ({"message_id": MESSAGE_ID, "reward": False}, "number"),
        ({"message_id": MESSAGE_ID, "reward": -1.01}, "between -1 and 1"),
        ({"message_id": MESSAGE_ID, "reward": float("inf")}, "number"),
        ({"reward": 1}, "message_id is required"),
        ({"message_id": "not-a-ulid", "reward": 1}, "ULID"),
        ({"message_id": MESSAGE_ID, "reward": 1, "source": "guessed"}, "explicit"),
        ({"message_id": MESSAGE_ID, "reward": 1, "user_id": ""}, "must not be empty"),
        ({"message_id": MESSAGE_ID, "reward": 1, "why": "x"}, "unknown field"),
    ],
)
def test_bad_feedback_is_refused_and_nothing_is_published(body, fragment):
    publisher = FakePublisher()
    with pytest.raises(ApiError) as raised:
        service(publisher).accept_feedback(body)
    assert fragment in raised.value.message
    assert raised.value.status == 400
    assert publisher.calls == []


@pytest.mark.parametrize("reward", [-1, -0.25, 0, 0.5, 1])
def test_feedback_in_range_is_published_with_its_ids_as_attributes(reward):
    publisher = FakePublisher()
    answer = service(publisher).accept_feedback(
        {"message_id": MESSAGE_ID, "reward": reward, "source": "continued", "user_id": "u-owner"}
    )
    (call,) = publisher.calls
    event = FeedbackEvent.from_json(call.data)
    assert call.topic == "feedback"
    assert (event.message_id, event.reward, event.source) == (MESSAGE_ID, float(reward), "continued")
    assert call.attributes == {"message_id": MESSAGE_ID, "feedback_id": event.feedback_id}
    assert answer == {"feedback_id": event.feedback_id, "message_id": MESSAGE_ID}


def test_a_failed_publish_is_unavailable():
    with pytest.raises(ApiError) as raised:
        service(FakePublisher(error=TimeoutError())).accept_feedback(
            {"message_id": MESSAGE_ID, "reward": 1, "user_id": "u-owner"}
        )
    assert raised.value.status == 503


GOOD = {
    "feedback_id": MESSAGE_ID,
    "message_id": MESSAGE_ID,
    "user_id": "u",
    "reward": 1,
    "source": "explicit",
    "given_at": "2026-11-27T10:00:00.000Z",
}


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"reward": 2}, "reward"),
        ({"reward": "1"}, "wrong type"),
        ({"source": "x"}, "source"),
        ({"feedback_id": "x"}, "ULID"),
        ({"given_at": "today"}, "timestamp"),
        ({"schema_version": 9}, "schema_version"),
        ({"extra": 1}, "unknown field"),
    ],
)
def test_a_malformed_feedback_event_is_a_schema_error(changes, fragment):
    with pytest.raises(SchemaError, match=fragment):
        FeedbackEvent.from_dict({**GOOD, **changes})


def test_the_feedback_row_is_keyed_by_the_feedback_id():
    event = FeedbackEvent.from_dict(GOOD)
    assert event.insert_id == event.feedback_id
    assert event.to_row()["reward"] == 1


class Recorder:
    def __init__(self) -> None:
        self.envelopes = []

    def __call__(self, envelope) -> None:
        self.envelopes.append(envelope)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("//pubsub.googleapis.com/projects/p/topics/feedback", "feedback"),
        ("projects/p/topics/selection-logs", "selection-logs"),
        ("projects/p/topics/unknown", "selection-logs"),
        (None, "selection-logs"),
    ],
)
def test_the_log_sink_picks_its_handler_by_the_events_topic(source, expected):
    handlers = {"selection-logs": Recorder(), "feedback": Recorder()}
    PushByTopic(handlers, default="selection-logs")({"message": {}}, source)
    assert [name for name, h in handlers.items() if h.envelopes] == [expected]


@pytest.mark.parametrize("name", ["selections_dedup", "feedback_dedup", "report", "router_stats"])
def test_every_statement_is_filled_in(name):
    text = sql.render(name, "proj.zatsudan")
    assert "{" not in text and "`proj.zatsudan." in text


def test_a_signed_in_user_rates_only_as_themselves():
    from shared.auth import Caller

    publisher = FakePublisher()
    alices = IngressService(Settings(), WeightedRouter({"bm25": 1.0}), publisher, answered_user=lambda m: "alice")
    answer = alices.accept_feedback({"message_id": MESSAGE_ID, "reward": 1}, Caller("user", "alice"))
    assert FeedbackEvent.from_json(publisher.calls[0].data).user_id == "alice" and answer["message_id"] == MESSAGE_ID
    with pytest.raises(ApiError) as raised:
        service(publisher).accept_feedback({"message_id": MESSAGE_ID, "reward": 1, "user_id": "bob"}, Caller("user", "alice"))
    assert raised.value.code == "permission_denied"


def test_a_signed_in_user_cannot_rate_a_reply_to_someone_else():
    from shared.auth import Caller

    publisher = FakePublisher()
    with pytest.raises(ApiError) as raised:
        service(publisher).accept_feedback({"message_id": MESSAGE_ID, "reward": -1}, Caller("user", "mallory"))
    assert (raised.value.code, raised.value.status) == ("permission_denied", 403)
    assert publisher.calls == []


def test_a_failed_lookup_of_the_answered_user_is_unavailable_not_a_refusal():
    def down(message_id):
        raise ConnectionError("firestore down")

    publisher = FakePublisher()
    flaky = IngressService(Settings(), WeightedRouter({"bm25": 1.0}), publisher, answered_user=down)
    with pytest.raises(ApiError) as raised:
        flaky.accept_feedback({"message_id": MESSAGE_ID, "reward": 1, "user_id": "u"})
    assert raised.value.status == 503 and publisher.calls == []
