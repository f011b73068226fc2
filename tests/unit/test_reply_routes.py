"""The new edges of ingress and the delivery function, built by the composition root
with fake clients: callback_url, GET /v1/replies/{message_id}, POST /v1/channels/line."""

from __future__ import annotations

import dataclasses

import flask
import pytest

from shared import app as app_module
from shared.auth import sign
from shared.config import Settings
from shared.events import UtteranceEvent

from .fakes import FakeFirestore
from .test_app import LEXICAL_ONLY, FakeClients, _post
from .test_line_channel import line_body, signed, text_event

MESSAGE = "01KB0000000000000000000000"
LOCAL = Settings(project="p", router_seed=1, auth_mode="off", algorithm_weights=LEXICAL_ONLY, callback_loopback_only=True)


def _get(handler, path, headers=None):
    with flask.Flask(__name__).test_request_context(path, method="GET", headers=headers or {}):
        return handler(flask.request)


def test_a_callback_url_travels_with_the_utterance_and_the_poster_is_recorded():
    clients = FakeClients()
    handler = app_module.build_ingress(LOCAL, clients)
    response = _post(handler, "/v1/utterances", {"user_id": "u", "text": "猫", "callback_url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 202
    ((_, data, _, _),) = clients.publisher.published
    event = UtteranceEvent.from_json(data)
    assert (event.reply_to.channel, event.reply_to.address, event.caller) == ("callback", "http://127.0.0.1:9/hook", "anonymous")


@pytest.mark.parametrize(
    "settings, url, reason",
    [(LOCAL, "https://hooks.example/x", "loopback"),
     (dataclasses.replace(LOCAL, callback_loopback_only=False), "https://127.0.0.1/x", "loopback address"),
     (dataclasses.replace(LOCAL, callback_loopback_only=False), "http://127.0.0.1/x", "https"),
     (LOCAL, "javascript:alert(1)", "http(s) URL")],
)
def test_a_callback_url_that_may_not_be_called_is_400_and_publishes_nothing(settings, url, reason):
    clients = FakeClients()
    response = _post(app_module.build_ingress(settings, clients), "/v1/utterances", {"user_id": "u", "text": "猫", "callback_url": url})
    assert response.status_code == 400
    assert reason in response.get_json()["error"]["message"]
    assert clients.publisher.published == []


def test_the_reply_endpoint_answers_the_poster_from_the_decision():
    clients = FakeClients()
    clients.firestore = FakeFirestore({f"decisions/{MESSAGE}": {
        "reply": {"text": "やあ"}, "log": {"user_id": "u", "conversation_id": "c"}, "caller": "anonymous"}})  # fmt: skip
    handler = app_module.build_ingress(LOCAL, clients)
    response = _get(handler, f"/v1/replies/{MESSAGE}?wait=0")
    assert (response.status_code, response.get_json()["reply"]["text"]) == (200, "やあ")
    assert _get(handler, "/v1/replies/01KB0000000000000000000001").status_code == 404
    assert _get(handler, "/v1/replies/..%2F..%2Fetc").get_json()["error"]["code"] in ("invalid_argument", "not_found")


def test_a_webhook_signs_a_get_over_its_path_and_query():
    clients = FakeClients()
    clients.firestore = FakeFirestore({f"decisions/{MESSAGE}": {"reply": {"text": "やあ"}, "log": {}, "caller": "webhook"}})
    handler = app_module.build_ingress(dataclasses.replace(LOCAL, auth_mode="required", webhook_secret="s"), clients)
    target = f"/v1/replies/{MESSAGE}?wait=1"
    assert _get(handler, target, {"X-Zatsudan-Signature": sign("s", target.encode())}).status_code == 200
    # A signature of another path (or of an empty body) is refused.
    assert _get(handler, target, {"X-Zatsudan-Signature": sign("s", f"/v1/replies/{MESSAGE}".encode())}).status_code == 401
    assert _get(handler, target, {"X-Zatsudan-Signature": sign("s", b"")}).status_code == 401
    assert _get(handler, target).status_code == 401


def test_a_line_webhook_becomes_an_utterance_with_a_line_reply_target():
    clients = FakeClients()
    handler = app_module.build_ingress(dataclasses.replace(LOCAL, line_channel_secret="line-secret"), clients)
    body = line_body(text_event())
    with flask.Flask(__name__).test_request_context(
        "/v1/channels/line", method="POST", data=body, headers={**signed(body), "content-type": "application/json; charset=utf-8"}
    ):
        response = handler(flask.request)
    assert (response.status_code, response.get_json()) == (200, {"events": 1, "utterances": 1})
    ((_, data, ordering_key, _),) = clients.publisher.published
    event = UtteranceEvent.from_json(data)
    assert (event.reply_to.channel, event.conversation_id, ordering_key, event.caller) == ("line", "line-u-U0123", "line-u-U0123", "line")


def test_the_delivery_function_builds_without_connecting():
    handler = app_module.build_delivery(Settings(project="p"), FakeClients())
    assert handler.dead_letter_topic == "replies-dead"
