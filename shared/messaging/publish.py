"""Publishing to a topic, and what a dead letter carries."""

from __future__ import annotations

import json
from typing import Mapping

from shared import logs

PUBLISH_TIMEOUT_S = 10.0
# Pub/Sub limits attribute values to 1024 bytes, not characters.
MAX_ATTRIBUTE_BYTES = 1024


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


def dead_letter_attributes(
    reason: str, source: str, original_message_id: str = "", attributes: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The attributes of a dead letter: the message's own (``attributes``),
    why it was given up and by whom, and its Pub/Sub id if it had one. The one
    builder for push handlers and pull workers alike."""
    built = dict(attributes or {})
    built.update({"dead_letter_reason": _truncate_utf8(reason, MAX_ATTRIBUTE_BYTES), "dead_letter_source": source})
    if original_message_id:
        built["original_message_id"] = original_message_id
    return built


def _truncate_utf8(value: str, max_bytes: int) -> str:
    return value.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def preview(data: bytes, limit: int = 200) -> str:
    """A short, safe rendering of a payload for logs."""
    try:
        return json.dumps(data[:limit].decode("utf-8", "replace"), ensure_ascii=False)
    except Exception:  # pragma: no cover - defensive: logging must not fail
        return repr(data[:limit])
