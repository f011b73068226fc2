"""Helpers for tests that talk to the emulators."""

from __future__ import annotations

import time
import uuid
from typing import Callable, TypeVar

T = TypeVar("T")


class PullReader:
    """A temporary pull subscription on a topic, read synchronously."""

    def __init__(self, project: str, topic: str, subscription: str | None = None) -> None:
        from google.cloud import pubsub_v1

        self.subscriber = pubsub_v1.SubscriberClient()
        self.path = subscription or self.subscriber.subscription_path(
            project, f"test-{topic}-{uuid.uuid4().hex[:8]}"
        )
        self._owned = subscription is None
        if self._owned:
            self.subscriber.create_subscription(name=self.path, topic=f"projects/{project}/topics/{topic}")

    def read(self, expect: int = 1, timeout: float = 10.0, settle: float = 0.0) -> list:
        """Messages received until ``expect`` arrived (or ``timeout``), then
        ``settle`` seconds more to catch any extra ones. All are acked."""
        received = []
        deadline = time.monotonic() + timeout
        settle_until = None
        while True:
            now = time.monotonic()
            if settle_until is None and (len(received) >= expect or now > deadline):
                settle_until = now + settle
            if settle_until is not None and now >= settle_until:
                return received
            response = self.subscriber.pull(
                request={"subscription": self.path, "max_messages": 100, "return_immediately": True}, timeout=5
            )
            if response.received_messages:
                self.subscriber.acknowledge(
                    request={"subscription": self.path, "ack_ids": [m.ack_id for m in response.received_messages]}
                )
                received.extend(m.message for m in response.received_messages)
            else:
                time.sleep(0.05)

    def close(self) -> None:
        if self._owned:
            try:
                self.subscriber.delete_subscription(subscription=self.path)
            except Exception:
                pass
        self.subscriber.close()


def eventually(probe: Callable[[], T], timeout: float = 10.0, interval: float = 0.1) -> T:
    """The first truthy result of ``probe`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def query_rows(bigquery_client, sql: str) -> list[dict]:
    return [dict(row) for row in bigquery_client.query(sql).result()]
