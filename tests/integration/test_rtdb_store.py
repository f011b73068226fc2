"""The scorer writing replies to the Realtime Database (the stack's local RTDB
server), read back with plain REST as any client would."""

from __future__ import annotations

import dataclasses

import pytest
import requests

from shared.app import build_scorer_service
from shared.replies import RtdbReplyStore
from tests.support import utterance_event


@pytest.fixture(scope="module")
def rtdb_service(settings, clients):
    return build_scorer_service(dataclasses.replace(settings, reply_store="rtdb"), clients)


def rest_get(stack, path: str):
    response = requests.get(f"{stack.url('rtdb')}{path}.json", params={"ns": stack.project}, timeout=5)
    response.raise_for_status()
    return response.json()


def event_for(conversation_id: str, text: str):
    return utterance_event(conversation_id, text, "en", "bm25", reply_store="rtdb")


def test_the_reply_is_at_its_rtdb_path_once_even_when_redelivered(stack, clients, rtdb_service, unique):
    event = event_for(unique, "qqqxyzzy wibblefrotz")
    first = rtdb_service.handle(event)
    second = rtdb_service.handle(event)
    assert first == second
    stored = rest_get(stack, event.reply_path)
    assert stored["message_id"] == event.message_id and stored["text"] == first.reply.text
    assert rest_get(stack, f"/replies/{unique}") == {event.message_id: stored}  # one node per message
    assert RtdbReplyStore(clients.rtdb).read(unique, event.message_id) == first.reply
