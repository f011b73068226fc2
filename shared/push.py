"""Pub/Sub push handling: decode, process, and sort failures into two kinds.

- ``SchemaError`` (the event can never succeed): the message is published to
  the dead-letter topic with the reason, and acknowledged. No retry loop.
- anything else (a transient failure): re-raised, so the function answers
  500 and Pub/Sub redelivers by the subscription's retry policy; after
  ``max_delivery_attempts`` Pub/Sub itself moves it to the dead-letter topic.
"""

from __future__ import annotations

import json
import logging
from typing import Callable

from shared import logs
from shared.events import SchemaError
from shared.pubsub import PushedMessage, dead_letter_attributes, decode_push, preview

log = logging.getLogger(__name__)


class PushHandler:
    def __init__(self, name: str, process: Callable[[bytes], None], publisher, dead_letter_topic: str) -> None:
        self.name = name
        self.process = process
        self.publisher = publisher
        self.dead_letter_topic = dead_letter_topic

    def __call__(self, envelope) -> None:
        try:
            message = decode_push(envelope)
        except SchemaError as error:
            raw = json.dumps(envelope, default=str).encode()
            self._dead_letter(PushedMessage(raw, {}, "", None), str(error))
            return
        attributes = message.attributes
        with (
            logs.labels(message_id=attributes.get("message_id", ""), feedback_id=attributes.get("feedback_id", "")),
            logs.trace(_child_span(attributes.get("traceparent"))),
        ):
            try:
                self.process(message.data)
            except SchemaError as error:
                self._dead_letter(message, str(error))

    def _dead_letter(self, message: PushedMessage, reason: str) -> None:
        log.error(
            "%s: poison message dead-lettered to %s: %s; payload %s",
            self.name,
            self.dead_letter_topic,
            reason,
            preview(message.data),
        )
        self.publisher.publish(
            self.dead_letter_topic, message.data, attributes=dead_letter_attributes(message, reason, self.name)
        )


def _child_span(traceparent: str | None) -> logs.TraceContext | None:
    parent = logs.parse_traceparent(traceparent)
    return parent.child() if parent else None


class TopicRouter:
    """One push function serving several topics: the CloudEvent source
    (``.../topics/<topic>``) picks the handler; no or an unknown source goes to
    ``default`` (whose parser dead-letters what it cannot read)."""

    def __init__(self, handlers: dict[str, PushHandler], default: str) -> None:
        self.handlers = handlers
        self.default = handlers[default]

    def __call__(self, envelope, source: str | None = None) -> None:
        topic = (source or "").rsplit("/topics/", 1)[-1] if "/topics/" in (source or "") else ""
        self.handlers.get(topic, self.default)(envelope)
