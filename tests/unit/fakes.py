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


class FakePubsubClient:
    """The slice of ``pubsub_v1.PublisherClient`` that ``Publisher`` uses:
    ``topic_path`` and its GAPIC layer's ``publish``. ``published`` holds
    (topic path, data, ordering key, attributes); ``timeouts`` each call's."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.published: list[tuple] = []
        self.timeouts: list[float | None] = []
        self.api = self

    @staticmethod
    def topic_path(project: str, topic: str) -> str:
        return f"projects/{project}/topics/{topic}"

    def publish(self, topic, messages, timeout=None, **_):
        self.timeouts.append(timeout)
        if self.error is not None:
            raise self.error
        for message in messages:
            self.published.append((topic, message["data"], message["ordering_key"], message["attributes"]))
        return type("PublishResponse", (), {"message_ids": [str(len(self.published))]})()


class FakeSnapshot:
    def __init__(self, data: dict | None) -> None:
        self._data = data
        self.exists = data is not None

    def to_dict(self) -> dict | None:
        return None if self._data is None else dict(self._data)

    def get(self, path: str):
        value: Any = self._data
        for part in path.split("."):
            value = value[part]
        return value


class FakeDocument:
    def __init__(self, store: dict, path: str) -> None:
        self._store, self.path = store, path
        self.id = path.rsplit("/", 1)[-1]

    def get(self, field_paths=None, **_) -> FakeSnapshot:
        return FakeSnapshot(self._store.get(self.path))

    def create(self, data: dict) -> None:
        from google.api_core import exceptions

        if self.path in self._store:
            raise exceptions.AlreadyExists(f"{self.path} exists")
        self._store[self.path] = dict(data)

    def set(self, data: dict, merge: bool = False) -> None:
        self._store[self.path] = {**self._store.get(self.path, {}), **data} if merge else dict(data)

    def update(self, data: dict) -> None:
        from google.api_core import exceptions

        if self.path not in self._store:
            raise exceptions.NotFound(f"{self.path} does not exist")
        self._store[self.path] = {**self._store[self.path], **data}

    def delete(self) -> None:
        self._store.pop(self.path, None)


class FakeCollection:
    def __init__(self, store: dict, name: str) -> None:
        self._store, self._name = store, name

    def document(self, doc_id: str) -> FakeDocument:
        return FakeDocument(self._store, f"{self._name}/{doc_id}")


class FakeFirestore:
    """Documents in a dict by path: get (dotted field paths), create (AlreadyExists), set.

    For unit tests only; integration tests use the Firestore emulator."""

    def __init__(self, documents: dict[str, dict] | None = None) -> None:
        self.documents: dict[str, dict] = dict(documents or {})

    def collection(self, name: str) -> FakeCollection:
        return FakeCollection(self.documents, name)

    def document(self, path: str) -> FakeDocument:
        return FakeDocument(self.documents, path)


def answered(message_id: str, user_id: str) -> dict[str, dict]:
    """A decisions/{message_id} document as the scorer stores it (the fields ingress reads)."""
    return {f"decisions/{message_id}": {"user_id": user_id}}
