"""The LINE webhook in: signature, one utterance per text message, redeliveries ignored.

Bodies are signed as LINE signs them (base64 HMAC-SHA256 with the channel
secret) and read by line-bot-sdk's WebhookParser."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from shared.errors import ApiError
from shared.line_channel import LineChannel, LineEvents

from .fakes import FakeFirestore

SECRET = "line-secret"


def line_body(*events) -> bytes:
    return json.dumps({"destination": "Ubot", "events": list(events)}).encode()


def signed(body: bytes, secret: str = SECRET) -> dict:
    return {"X-Line-Signature": base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()}


def text_event(event_id="01KB0000000000000000000001", text="猫が好きです", source=None, redelivery=False, reply_token="rt1"):
    return {
        "type": "message", "mode": "active", "timestamp": 1_800_000_000_000,
        "source": source or {"type": "user", "userId": "U0123"},
        "webhookEventId": event_id, "deliveryContext": {"isRedelivery": redelivery},
        "replyToken": reply_token, "message": {"type": "text", "id": "m1", "quoteToken": "q", "text": text},
    }  # fmt: skip


class Accept:
    def __init__(self, error: ApiError | None = None) -> None:
        self.error = error
        self.calls: list[tuple] = []

    def __call__(self, body, caller, reply_to=None):
        self.calls.append((body, caller, reply_to))
        if self.error:
            raise self.error
        return {"message_id": "m"}


def channel(accept: Accept, db=None, secret: str | None = SECRET) -> LineChannel:
    return LineChannel(secret, accept, LineEvents(db if db is not None else FakeFirestore()))


def test_a_text_message_becomes_an_utterance_answered_on_line():
    accept = Accept()
    body = line_body(text_event())
    assert channel(accept).handle(signed(body), body) == {"events": 1, "utterances": 1}
    ((utterance, caller, target),) = accept.calls
    assert utterance == {"user_id": "line:user:U0123", "text": "猫が好きです", "conversation_id": "line-u-U0123"}
    assert caller.key == "line"
    assert (target.channel, target.address, target.reply_token, target.event_at) == (
        "line", "U0123", "rt1", "2027-01-15T08:00:00.000Z"
    )


@pytest.mark.parametrize(
    "source, user_id, conversation_id, push_to",
    [({"type": "group", "groupId": "Cg1", "userId": "U9"}, "line:group:Cg1", "line-g-Cg1", "Cg1"),
     ({"type": "room", "roomId": "Rr1", "userId": "U9"}, "line:room:Rr1", "line-r-Rr1", "Rr1")],
)
def test_a_group_or_room_is_one_conversation_spoken_by_the_group(source, user_id, conversation_id, push_to):
    accept = Accept()
    body = line_body(text_event(source=source))
    channel(accept).handle(signed(body), body)
    ((utterance, _, target),) = accept.calls
    assert (utterance["user_id"], utterance["conversation_id"], target.address) == (user_id, conversation_id, push_to)


def test_a_redelivered_event_yields_no_second_utterance():
    db, accept = FakeFirestore(), Accept()
    first = line_body(text_event())
    again = line_body(text_event(redelivery=True))
    channel(accept, db).handle(signed(first), first)
    assert channel(accept, db).handle(signed(again), again) == {"events": 1, "utterances": 0}
    assert len(accept.calls) == 1
    assert db.documents["line_events/01KB0000000000000000000001"]["redelivery"] is False


def test_other_events_are_acknowledged_and_ignored():
    accept = Accept()
    sticker = {**text_event(), "message": {"type": "sticker", "id": "s", "quoteToken": "q", "packageId": "1", "stickerId": "2",
                                           "stickerResourceType": "STATIC"}}
    follow = {k: v for k, v in text_event("01KB0000000000000000000002").items() if k != "message"} | {"type": "follow"}
    body = line_body(sticker, follow, {"type": "somethingNew", "timestamp": 1, "webhookEventId": "x",
                                       "deliveryContext": {"isRedelivery": False}, "mode": "active"})
    assert channel(accept).handle(signed(body), body)["utterances"] == 0
    assert accept.calls == []


@pytest.mark.parametrize(
    "headers, code",
    [({}, "unauthenticated"), ({"X-Line-Signature": "AAAA"}, "unauthenticated"), ({"X-Line-Signature": "é" * 3}, "unauthenticated")],
)
def test_unsigned_or_badly_signed_bodies_are_401(headers, code):
    body = line_body(text_event())
    with pytest.raises(ApiError) as caught:
        channel(Accept()).handle(headers, body)
    assert (caught.value.status, caught.value.code) == (401, code)
    with pytest.raises(ApiError):
        channel(Accept()).handle(signed(body, "another-secret"), body)


@pytest.mark.parametrize("body", [b"{}", b"[]", b"not json", json.dumps({"events": [{"type": "message"}]}).encode()])
def test_signed_bodies_that_are_not_line_webhooks_are_400(body):
    with pytest.raises(ApiError) as caught:
        channel(Accept()).handle(signed(body), body)
    assert caught.value.status == 400


def test_without_a_channel_secret_the_channel_is_404():
    body = line_body(text_event())
    with pytest.raises(ApiError) as caught:
        channel(Accept(), secret=None).handle(signed(body), body)
    assert caught.value.status == 404


def test_a_line_ingress_refuses_is_skipped_and_one_it_could_not_queue_is_released():
    db = FakeFirestore()
    body = line_body(text_event(text="x" * 3000))
    assert channel(Accept(ApiError("invalid_argument", "too long")), db).handle(signed(body), body)["utterances"] == 0
    body = line_body(text_event("01KB0000000000000000000009"))
    with pytest.raises(ApiError):
        channel(Accept(ApiError("unavailable", "publish failed")), db).handle(signed(body), body)
    assert "line_events/01KB0000000000000000000009" not in db.documents  # LINE's redelivery can bring it again
