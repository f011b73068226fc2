"""The delivery function's logic: once per message id, signed callbacks, failures sorted.

Pure logic with fakes (the receiver is a function here); the stack's
end-to-end tests deliver to real receivers on loopback (tests/e2e/test_callbacks.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from shared import callbacks
from shared.client import verify_callback
from shared.delivery import (
    CallbackChannel, DeliveryFailed, DeliveryLedger, DeliveryService, Undeliverable, callback_body, reply_event,
)
from shared.events import ReplyEvent, ReplyTarget
from shared.replies import Reply
from tests.support import utterance_event

from .fakes import FakeFirestore

SECRET = "whsec_" + "c2VjcmV0LWZvci10ZXN0cw=="
NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
LOOPBACK = callbacks.CallbackPolicy(loopback_only=True)


def a_reply_event(url: str = "http://127.0.0.1:9/hook") -> ReplyEvent:
    event = dataclasses.replace(utterance_event(), reply_to=ReplyTarget("callback", url))
    reply = Reply("猫はかわいい", "bm25", 1.5, ["猫"], event.message_id, "2026-01-02T03:04:05.000Z")
    return reply_event(event, reply)


class Receiver:
    """Answers each POST with the next status (or raises the next exception)."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.calls: list[tuple] = []

    def __call__(self, target, body, headers, timeout_s):
        self.calls.append((target, body, headers, timeout_s))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return callbacks.Answer(answer, "")


def service(receiver: Receiver, db=None, secret: str | None = SECRET):
    channel = CallbackChannel(LOOPBACK, secret, 2.0, send=receiver, clock=lambda: NOW)
    return DeliveryService(DeliveryLedger(db or FakeFirestore()), {"callback": channel})


def test_a_reply_is_posted_signed_with_standard_webhooks_and_its_message_id_as_webhook_id():
    receiver = Receiver(200)
    event = a_reply_event()
    assert service(receiver).handle(event) is True
    ((target, body, headers, timeout_s),) = receiver.calls
    assert (target.address, target.port, target.path, timeout_s) == ("127.0.0.1", 9, "/hook", 2.0)
    assert headers["webhook-id"] == event.message_id
    assert headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    # What a receiver does: the standardwebhooks verifier (its clock is now, so sign afresh).
    fresh = CallbackChannel(LOOPBACK, SECRET, 2.0, send=Receiver(200), clock=lambda: dt.datetime.now(dt.timezone.utc))
    fresh(event)
    document = verify_callback(SECRET, fresh.send.calls[0][1], fresh.send.calls[0][2])
    assert document["type"] == "reply.created"
    assert document["data"]["reply"]["text"] == "猫はかわいい"
    assert document["data"]["message_id"] == event.message_id
    with pytest.raises(Exception):
        verify_callback("whsec_" + "b3RoZXIta2V5", fresh.send.calls[0][1], fresh.send.calls[0][2])


def test_a_delivered_reply_is_not_sent_again():
    db, receiver = FakeFirestore(), Receiver(200)
    event = a_reply_event()
    assert service(receiver, db).handle(event) is True
    assert service(receiver, db).handle(event) is False
    assert len(receiver.calls) == 1


@pytest.mark.parametrize(
    "answer, error",
    [(500, DeliveryFailed), (429, DeliveryFailed), (404, DeliveryFailed), (302, DeliveryFailed),
     (TimeoutError("read timed out"), DeliveryFailed), (ConnectionRefusedError(), DeliveryFailed), (410, Undeliverable)],
)
def test_failures_are_retried_except_gone(answer, error):
    db = FakeFirestore()
    with pytest.raises(error):
        service(Receiver(answer), db).handle(a_reply_event())
    assert db.documents == {}  # not recorded: a retry sends it


def test_after_failures_the_same_bytes_are_sent_and_recorded_once_delivered():
    db, receiver = FakeFirestore(), Receiver(500, TimeoutError(), 200, 200)
    event = a_reply_event()
    for _ in range(2):
        with pytest.raises(DeliveryFailed):
            service(receiver, db).handle(event)
    assert service(receiver, db).handle(event) is True
    assert service(receiver, db).handle(event) is False
    assert len({body for _, body, _, _ in receiver.calls}) == 1 and len(receiver.calls) == 3
    assert list(db.documents) == [f"delivery_ledger/{event.message_id}"]


def test_a_url_that_may_not_be_called_now_is_undeliverable_and_nothing_is_sent():
    receiver = Receiver()
    with pytest.raises(Undeliverable, match="loopback"):
        service(receiver).handle(a_reply_event("https://10.0.0.1/hook"))
    assert receiver.calls == []


def test_without_a_signing_key_nothing_is_sent_and_the_delivery_is_retried():
    receiver = Receiver()
    with pytest.raises(DeliveryFailed, match="CALLBACK_SECRET"):
        service(receiver, secret=None).handle(a_reply_event())
    assert receiver.calls == []


def test_the_callback_body_is_the_reply_document():
    event = a_reply_event()
    assert json.loads(callback_body(event)) == {
        "type": "reply.created",
        "timestamp": "2026-01-02T03:04:05.000Z",
        "data": {"message_id": event.message_id, "conversation_id": "c", "user_id": "tester", "reply": event.reply},
    }


def test_an_unknown_channel_is_undeliverable():
    event = dataclasses.replace(a_reply_event(), reply_to=ReplyTarget("line", "U1"))
    with pytest.raises(Undeliverable, match="no line channel"):
        service(Receiver()).handle(event)
