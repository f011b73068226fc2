"""Pub/Sub push handling: decode, process, and sort failures by what happened.

One push function serving several topics dispatches by topic (:class:`PushByTopic`).

Inside the push function's body (wrapped by :func:`delivery`):
- ``SchemaError`` (the event can never succeed), including an envelope that
  does not decode: the message is published to the dead-letter topic with the
  reason, and acknowledged (2xx). No retry loop.
- anything else (a transient failure): the body fails, the function answers
  500 and Pub/Sub redelivers by the subscription's retry policy. With an
  attempt counter, the failure that reaches ``max_attempts`` is dead-lettered
  (reason: the last error) and acknowledged instead, so a message that never
  succeeds stops with a report rather than relying on Pub/Sub's own
  dead-lettering (which the local emulator gets wrong for push subscriptions).
Before the body (functions-framework could not read the request as an event):
see :func:`answer_failure`: dead-lettered and acknowledged when there is a
message and a known topic, 400 only when there is nothing to dead-letter.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from shared import logs
from shared.events import SchemaError
from shared.messaging import topology
from shared.messaging.publish import dead_letter_attributes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushedMessage:
    data: bytes
    attributes: dict[str, str]
    pubsub_message_id: str
    delivery_attempt: int | None


def decode_push(envelope: Any) -> PushedMessage:
    """The Pub/Sub message inside a push delivery (CloudEvent data or raw body)."""
    if not isinstance(envelope, Mapping) or not isinstance(envelope.get("message"), Mapping):
        raise SchemaError("push body has no message")
    message = envelope["message"]
    try:
        data = base64.b64decode(message.get("data", ""), validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise SchemaError("message data is not base64") from None
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise SchemaError("message attributes are not a map")
    attempt = envelope.get("deliveryAttempt")
    return PushedMessage(
        data=data,
        attributes={str(k): str(v) for k, v in attributes.items()},
        pubsub_message_id=str(message.get("messageId") or message.get("message_id") or ""),
        delivery_attempt=attempt if isinstance(attempt, int) else None,
    )


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

    def serves(self, topic: str) -> bool:
        return topology.dead_letter_topic(topic) == self.dead_letter_topic

    def dead_letter_unreadable(self, envelope: Mapping, topic: str, reason: str) -> bool:
        """Dead-letter a push body functions-framework could not read, if it
        came from this handler's topic; False when it did not."""
        if not self.serves(topic):
            return False
        try:
            message = decode_push(envelope)
        except SchemaError:
            message = PushedMessage(json.dumps(envelope, default=str).encode(), {}, "", None)
        self._dead_letter(message, reason)
        return True

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
            self.dead_letter_topic,
            message.data,
            attributes=dead_letter_attributes(reason, self.name, message.pubsub_message_id, message.attributes),
        )


def _child_span(traceparent: str | None) -> logs.TraceContext | None:
    parent = logs.parse_traceparent(traceparent)
    return parent.child() if parent else None


class PushByTopic:
    """One push function serving several topics: the CloudEvent source
    (``.../topics/<topic>``) picks the handler; no or an unknown source goes to
    ``default`` (whose parser dead-letters what it cannot read)."""

    def __init__(self, handlers: dict[str, PushHandler], default: str) -> None:
        self.handlers = handlers
        self.default = handlers[default]

    def __call__(self, envelope, source: str | None = None) -> None:
        topic = (source or "").rsplit("/topics/", 1)[-1] if "/topics/" in (source or "") else ""
        self.handlers.get(topic, self.default)(envelope)

    def dead_letter_unreadable(self, envelope: Mapping, topic: str, reason: str) -> bool:
        handler = self.handlers.get(topic)
        return handler is not None and handler.dead_letter_unreadable(envelope, topic, reason)


class DeliveryFailed(Exception):
    """The function's own work on a delivery failed (``__cause__`` says how):
    answered 500, so Pub/Sub redelivers. Raised only by :func:`delivery`."""


def delivery(function: Callable[[Any], None]) -> Callable[[Any], None]:
    """Wraps a push function's body (under ``functions_framework.cloud_event``).

    Whatever escapes the body happened while this delivery was being handled
    (building the service, processing, counting the attempt, dead-lettering):
    it becomes :class:`DeliveryFailed`, which :func:`answer_failure` answers
    with 500. Everything else the error handler sees was raised before the
    body ran. The handler is told which by this control flow, not by where a
    file lives (a deploy bundle has ``main.py`` at its root)."""

    @functools.wraps(function)
    def run(cloud_event) -> None:
        try:
            function(cloud_event)
        except Exception as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error

    return run


def answer_failure(handler: Callable[[], "PushHandler | PushByTopic"]):
    """functions-framework's error handler for a push function; ``handler``
    returns the function's built handler (``lazy(build_...)``).

    - :class:`DeliveryFailed` (the body ran and failed; it has counted the
      attempt): 500, Pub/Sub retries.
    - anything else was raised while functions-framework read the request,
      before the body ran. Such a body can never succeed, and a push
      subscription redelivers on every answer but 2xx, 400 included. So if
      it holds a message and names a topic this function serves
      (``.../projects/P/topics/T``, as every push endpoint does), the message
      goes to ``T-dead`` with the reason and the answer is 200 (acknowledged).
      Only a request with no message to dead-letter is refused with 400: it
      was not a push at all (Pub/Sub never sends one; a direct caller can).
    """

    def answer(error: Exception):
        from werkzeug.exceptions import BadRequest, HTTPException

        if isinstance(error, DeliveryFailed):
            log.error("push delivery failed, Pub/Sub will retry: %r", error.__cause__, exc_info=error.__cause__)
            return _json_answer(500, "internal", "transient failure")
        if isinstance(error, HTTPException) and not isinstance(error, BadRequest):
            return error  # 404, 405...: routing, not a body
        return _unreadable(handler, error)

    return answer


def _unreadable(handler: Callable[[], "PushHandler | PushByTopic"], error: Exception):
    import flask

    request = flask.request
    reason = f"not a readable Pub/Sub push: {type(error).__name__}: {error}"
    try:
        envelope = json.loads(request.get_data())
    except ValueError:
        envelope = None
    topic = topic_of(request.path)
    if isinstance(envelope, Mapping) and "message" in envelope and topic:
        try:
            done = handler().dead_letter_unreadable(envelope, topic, reason[:500])
        except Exception as failure:  # building the handler or publishing: try again later
            log.error("could not dead-letter an unreadable push, Pub/Sub will retry: %r", failure)
            return _json_answer(500, "internal", "transient failure")
        if done:
            return _json_answer(200, "dead_lettered", reason[:500])
    log.error("push body refused before the handler ran (no message to dead-letter): %r", error)
    return _json_answer(400, "invalid_json", f"not a Pub/Sub push envelope: {type(error).__name__}")


def topic_of(path: str | None) -> str | None:
    """The topic a push endpoint path names (``.../projects/P/topics/T``), if any."""
    match = re.search(r"/projects/[^/?]+/topics/([^/?]+)", path or "")
    return match.group(1) if match else None


def _json_answer(status: int, code: str, message: str):
    return json.dumps({"error" if status >= 400 else "result": {"code": code, "message": message}}), status, _JSON


_JSON = {"content-type": "application/json"}
