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
