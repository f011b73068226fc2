"""Fakes and golden-file helpers for the unit tests (imported relatively)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def load_golden(name: str) -> dict[str, Any]:
    """A golden JSON event from ``tests/data`` (a fresh copy on every call)."""
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


@dataclass
class Published:
    topic: str
    data: bytes
    ordering_key: str
    attributes: dict[str, str]


@dataclass
class FakePublisher:
    """Records ``publish`` calls; raises ``error`` instead when one is set."""

    error: Exception | None = None
    calls: list[Published] = field(default_factory=list)

    def publish(self, topic: str, data: bytes, ordering_key: str = "", attributes=None) -> str:
        if self.error is not None:
            raise self.error
        self.calls.append(Published(topic, data, ordering_key, dict(attributes or {})))
        return str(len(self.calls))


class FakeFuture:
    def __init__(self, result=None, error: Exception | None = None) -> None:
        self._result, self._error = result, error
        self.timeouts: list[float | None] = []

    def result(self, timeout=None):
        self.timeouts.append(timeout)
        if self._error is not None:
            raise self._error
        return self._result


class FakePubsubClient:
    """The slice of ``pubsub_v1.PublisherClient`` that ``Publisher`` uses."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.published: list[tuple] = []
        self.resumed: list[tuple[str, str]] = []
        self.futures: list[FakeFuture] = []

    @staticmethod
    def topic_path(project: str, topic: str) -> str:
        return f"projects/{project}/topics/{topic}"

    def publish(self, topic, data, ordering_key="", **attributes):
        self.published.append((topic, data, ordering_key, attributes))
        self.futures.append(FakeFuture(result=str(len(self.published)), error=self.error))
        return self.futures[-1]

    def resume_publish(self, topic, ordering_key):
        self.resumed.append((topic, ordering_key))
