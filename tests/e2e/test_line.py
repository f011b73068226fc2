"""LINE end to end, offline: a webhook body signed with the channel secret goes through
ingress, the scorer and the delivery function to the local LINE stand-in
(infra/local/line_server.py) by line-bot-sdk; a redelivered event yields nothing more."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
import requests

from shared import ids
from tests.support import eventually


def signed_post(stack, body: dict, secret: str | None = None) -> requests.Response:
    raw = json.dumps(body).encode()
    secret = secret or stack.env()["LINE_CHANNEL_SECRET"]
    signature = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return requests.post(
        f"{stack.url('ingress')}/v1/channels/line", data=raw, timeout=30,
        headers={"content-type": "application/json; charset=utf-8", "X-Line-Signature": signature},
    )  # fmt: skip


def text_message(user: str, event_id: str, reply_token: str, text: str, age_s: float = 0.0, redelivery: bool = False) -> dict:
    return {
        "destination": "Ubot",
        "events": [{
            "type": "message", "mode": "active", "timestamp": int((time.time() - age_s) * 1000),
            "source": {"type": "user", "userId": user}, "webhookEventId": event_id,
            "deliveryContext": {"isRedelivery": redelivery}, "replyToken": reply_token,
            "message": {"type": "text", "id": "m1", "quoteToken": "q", "text": text},
        }],
    }  # fmt: skip


def calls_for(stack, user: str, reply_token: str) -> list[dict]:
    calls = requests.get(f"{stack.url('line')}/_calls", timeout=10).json()
    return [c for c in calls if c["body"].get("replyToken") == reply_token or c["body"].get("to") == user]


@pytest.fixture
def line_user() -> str:
    return "U" + uuid.uuid4().hex


@pytest.mark.slow
def test_a_signed_text_message_is_answered_once_with_its_reply_token_and_a_redelivery_yields_nothing(stack, line_user):
    event_id, token = ids.new_message_id(), f"rt-{uuid.uuid4().hex}"
    first = signed_post(stack, text_message(line_user, event_id, token, "猫が好きです"))
    assert (first.status_code, first.json()) == (200, {"events": 1, "utterances": 1})
    replied = eventually(lambda: calls_for(stack, line_user, token), timeout=30)
    assert replied, "no reply reached the LINE stand-in"
    again = signed_post(stack, text_message(line_user, event_id, token, "猫が好きです", redelivery=True))
    assert (again.status_code, again.json()) == (200, {"events": 1, "utterances": 0})
    time.sleep(3)  # nothing more arrives
    (call,) = calls_for(stack, line_user, token)
    assert call["kind"] == "reply" and call["body"]["replyToken"] == token
    (message,) = call["body"]["messages"]
    assert message["type"] == "text" and message["text"]


@pytest.mark.slow
def test_after_the_reply_token_expired_the_reply_is_pushed_once(stack, line_user):
    token = f"rt-{uuid.uuid4().hex}"
    response = signed_post(stack, text_message(line_user, ids.new_message_id(), token, "I like cats", age_s=120))
    assert response.status_code == 200
    pushed = eventually(lambda: calls_for(stack, line_user, token), timeout=30)
    assert pushed, "no push reached the LINE stand-in"
    time.sleep(2)
    (call,) = calls_for(stack, line_user, token)
    assert (call["kind"], call["body"]["to"]) == ("push", line_user)
    assert uuid.UUID(call["retry_key"])  # a redelivered event cannot push twice


@pytest.mark.slow
def test_an_unsigned_line_body_is_401_json_and_yields_nothing(stack, line_user):
    token = f"rt-{uuid.uuid4().hex}"
    response = signed_post(stack, text_message(line_user, ids.new_message_id(), token, "hello"), secret="not-the-secret")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthenticated")
    time.sleep(2)
    assert calls_for(stack, line_user, token) == []
