"""Pub/Sub push handling: decode, process, and sort failures into two kinds.

- ``SchemaError`` (the event can never succeed): the message is published to
  the dead-letter topic with the reason, and acknowledged. No retry loop.
- anything else (a transient failure): re-raised, so the function answers
  500 and Pub/Sub redelivers by the subscription's retry policy. With an
  attempt counter, the failure that reaches ``max_attempts`` is dead-lettered
  (reason: the last error) and acknowledged instead, so a message that never
  succeeds stops with a report rather than relying on Pub/Sub's own
  dead-lettering (which the local emulator gets wrong for push subscriptions).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable

from shared import logs
from shared.events import SchemaError
from shared.pubsub import PushedMessage, dead_letter_attributes, decode_push

log = logging.getLogger(__name__)


class PushHandler:
    def __init__(
        self,
        name: str,
        process: Callable[[bytes], None],
        publisher,
        dead_letter_topic: str,
        attempts: Callable[[str], int] | None = None,
        max_attempts: int = 0,
    ) -> None:
        self.name = name
        self.process = process
        self.publisher = publisher
        self.dead_letter_topic = dead_letter_topic
        # ``attempts(key)`` records a failed delivery and returns the count so far.
        self.attempts = attempts
        self.max_attempts = max_attempts

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
            except Exception as error:
                if not self._give_up(message, error):
                    raise

    def _give_up(self, message: PushedMessage, error: Exception) -> bool:
        """Count a failed delivery; at the last allowed attempt, dead-letter it and acknowledge."""
        key = message.pubsub_message_id or message.attributes.get("message_id", "")
        if self.attempts is None or not self.max_attempts or not key:
            return False
        try:
            # Message ids are unique per topic only; one function may serve several topics.
            failures = self.attempts(f"{self.name}:{self.dead_letter_topic}:{key}")
        except Exception:  # the count is best effort: Pub/Sub's policy still bounds retries
            log.exception("%s: could not count the failed delivery", self.name)
            return False
        if failures < self.max_attempts:
            log.warning("%s: delivery failed (%d of %d attempts): %r", self.name, failures, self.max_attempts, error)
            return False
        self._dead_letter(message, f"gave up after {failures} attempts: {error!r}")
        return True

    def _dead_letter(self, message: PushedMessage, reason: str) -> None:
        # Ids and sizes only: the payload holds user text, which stays out of logs
        # (the dead letter itself keeps it, for whoever may inspect it).
        log.error(
            "%s: poison message dead-lettered to %s: %s; pubsub id %s, message_id %s, %d bytes",
            self.name,
            self.dead_letter_topic,
            reason,
            message.pubsub_message_id or "-",
            message.attributes.get("message_id") or message.attributes.get("feedback_id") or "-",
            len(message.data),
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


def answer_failure(error: Exception):
    """functions-framework's error handler for the push functions.

    A failure inside our function body is transient (the push handler has
    already dead-lettered what can never succeed): 500, so Pub/Sub retries.
    A failure before it, while functions-framework parses the body (not
    UTF-8, not a JSON object, not an event), can never succeed: 400 with a
    log line, never a 500 that a push subscription would retry forever.
    (Pub/Sub itself never sends such bodies; direct callers can.)"""
    from werkzeug.exceptions import HTTPException

    if isinstance(error, HTTPException):
        return error
    if _raised_inside_function(error):
        log.error("push delivery failed, Pub/Sub will retry: %r", error)
        return json.dumps({"error": {"code": "internal", "message": "transient failure"}}), 500, _JSON
    log.error("push body refused before the handler ran (not a Pub/Sub push envelope): %r", error)
    body = {"error": {"code": "invalid_json", "message": f"not a Pub/Sub push envelope: {type(error).__name__}"}}
    return json.dumps(body), 400, _JSON


_JSON = {"content-type": "application/json"}
_FUNCTIONS_DIR = str(Path(__file__).resolve().parents[1] / "functions")


def _raised_inside_function(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename.startswith(_FUNCTIONS_DIR):
            return True
        traceback = traceback.tb_next
    return False
