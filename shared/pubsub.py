"""Pub/Sub on both sides: publishing events, and decoding push deliveries."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Mapping

from shared import logs
from shared.events import SchemaError

PUBLISH_TIMEOUT_S = 10.0


class Publisher:
    """Publishes bytes to a topic of the configured project and waits for the ack.

    One ``Publish`` call in the calling thread, through the client's GAPIC
    layer (``PublisherClient.api``): the batching client's per-batch commit
    thread cost about 0.9 ms CPU and 3.7 ms per message on the local stack
    (0.3 ms and 0.8 ms this way), and every publish here waits for its ack
    anyway. Ordering holds: a message is sent only after the caller's earlier
    one for the same key was acknowledged, and concurrent ones have no order
    to keep; no key is ever paused, so there is nothing to resume."""

    def __init__(self, client, project: str) -> None:
        self._client = client
        self._project = project

    def publish(
        self, topic: str, data: bytes, ordering_key: str = "", attributes: Mapping[str, str] | None = None
    ) -> str:
        path = self._client.topic_path(self._project, topic)
        # The current trace travels with the message (explicit attributes win).
        attributes = {**logs.propagation_attributes(), **dict(attributes or {})}
        message = {"data": data, "attributes": attributes, "ordering_key": ordering_key}
        response = self._client.api.publish(topic=path, messages=[message], timeout=PUBLISH_TIMEOUT_S)
        return response.message_ids[0]


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


def dead_letter_attributes(message: PushedMessage, reason: str, source: str) -> dict[str, str]:
    attributes = dict(message.attributes)
    attributes.update({"dead_letter_reason": _truncate_utf8(reason, 1024), "dead_letter_source": source})
    if message.pubsub_message_id:
        attributes["original_message_id"] = message.pubsub_message_id
    return attributes


def _truncate_utf8(value: str, max_bytes: int) -> str:
    """Pub/Sub limits attribute values to 1024 bytes, not characters."""
    return value.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def preview(data: bytes, limit: int = 200) -> str:
    """A short, safe rendering of a payload for logs."""
    try:
        return json.dumps(data[:limit].decode("utf-8", "replace"), ensure_ascii=False)
    except Exception:  # pragma: no cover - defensive: logging must not fail
        return repr(data[:limit])
