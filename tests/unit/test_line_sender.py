"""Replies to LINE: the reply token while it is valid, else a push with a retry key.

line-bot-sdk's MessagingApi is replaced by a recorder here; the end-to-end
test sends through the real SDK to the local LINE stand-in."""

from __future__ import annotations

import dataclasses

import pytest
from linebot.v3.messaging import ApiException

from shared import timeutil
from shared.delivery import DeliveryFailed, Undeliverable, reply_event
from shared.events import ReplyTarget
from shared.line_sender import REPLY_TOKEN_VALID_S, LineSender, retry_key
from shared.replies import Reply
from tests.support import utterance_event



class FakeMessagingApi:
    def __init__(self, reply_status: int | None = None, push_status: int | None = None) -> None:
        self.reply_status, self.push_status = reply_status, push_status
        self.calls: list[tuple] = []

    def reply_message(self, request, _request_timeout=None):
        self.calls.append(("reply", request.reply_token, request.messages[0].text))
        if self.reply_status:
            raise ApiException(status=self.reply_status)

    def push_message(self, request, x_line_retry_key=None, _request_timeout=None):
        self.calls.append(("push", request.to, x_line_retry_key))
        if self.push_status:
            raise ApiException(status=self.push_status)


def event(reply_token: str | None = "tok"):
    utterance = dataclasses.replace(
        utterance_event(),
        reply_to=ReplyTarget("line", "U0123", reply_token, timeutil.iso(timeutil.parse("2027-01-15T08:00:00Z"))),
    )
    return reply_event(utterance, Reply("こんにちは", "bm25", 1.0, [], utterance.message_id, "2027-01-15T08:00:01.000Z"))


def sender(api: FakeMessagingApi, age_s: float) -> LineSender:
    at = timeutil.parse("2027-01-15T08:00:00Z").timestamp()
    line = LineSender("token", "http://127.0.0.1:9", clock=lambda: at + age_s)
    line._api = api
    return line


def test_a_fresh_reply_token_is_used():
    api = FakeMessagingApi()
    sender(api, 3)(event())
    assert api.calls == [("reply", "tok", "こんにちは")]


def test_after_the_token_expires_the_reply_is_pushed_with_a_retry_key_of_the_message():
    api, e = FakeMessagingApi(), event()
    sender(api, REPLY_TOKEN_VALID_S + 1)(e)
    assert api.calls == [("push", "U0123", retry_key(e.message_id))]
    assert retry_key(e.message_id) == retry_key(e.message_id) != retry_key("01KB0000000000000000000000")


def test_a_refused_token_falls_back_to_a_push():
    api = FakeMessagingApi(reply_status=400)
    sender(api, 3)(event())
    assert [call[0] for call in api.calls] == ["reply", "push"]


def test_a_push_line_already_accepted_counts_as_delivered():
    sender(FakeMessagingApi(push_status=409), 999)(event(reply_token=None))


@pytest.mark.parametrize("status, error", [(500, DeliveryFailed), (429, DeliveryFailed), (401, DeliveryFailed), (400, Undeliverable)])
def test_push_failures(status, error):
    with pytest.raises(error):
        sender(FakeMessagingApi(push_status=status), 999)(event())


def test_a_reply_failing_on_lines_side_is_retried_not_pushed():
    api = FakeMessagingApi(reply_status=500)
    with pytest.raises(DeliveryFailed):
        sender(api, 3)(event())
    assert [call[0] for call in api.calls] == ["reply"]


def test_without_an_access_token_nothing_is_sent():
    line = LineSender(None, "http://127.0.0.1:9")
    line._api = api = FakeMessagingApi()
    with pytest.raises(DeliveryFailed, match="LINE_CHANNEL_ACCESS_TOKEN"):
        line(event())
    assert api.calls == []
