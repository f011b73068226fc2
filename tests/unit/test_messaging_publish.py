"""Publisher: one Publish call that waits for the ack, with a bounded timeout."""

from __future__ import annotations

import pytest

from shared.messaging.publish import PUBLISH_TIMEOUT_S, Publisher

from .fakes import FakePubsubClient


def test_publish_sends_to_the_projects_topic_and_returns_the_server_id():
    client = FakePubsubClient()
    server_id = Publisher(client, "p").publish("utterances", b"{}", ordering_key="c-1", attributes={"message_id": "m"})
    assert server_id == "1"
    assert client.published == [("projects/p/topics/utterances", b"{}", "c-1", {"message_id": "m"})]


def test_publish_waits_for_the_ack_with_a_bounded_timeout():
    client = FakePubsubClient()
    Publisher(client, "p").publish("t", b"x")
    assert client.timeouts == [PUBLISH_TIMEOUT_S]


def test_a_failed_publish_raises():
    client = FakePubsubClient(error=RuntimeError("deadline"))
    with pytest.raises(RuntimeError):
        Publisher(client, "p").publish("utterances", b"x", ordering_key="c-1")
    assert client.published == []


def test_a_publish_inside_a_trace_carries_it_and_explicit_attributes_win():
    from shared import logs

    client = FakePubsubClient()
    publisher = Publisher(client, "p")
    context = logs.new_trace()
    with logs.trace(context):
        publisher.publish("t", b"x", attributes={"message_id": "m"})
        publisher.publish("t", b"y", attributes={"traceparent": "explicit"})
    publisher.publish("t", b"z")
    assert [call[3] for call in client.published] == [
        {"traceparent": context.traceparent(), "message_id": "m"},
        {"traceparent": "explicit"},
        {},
    ]
