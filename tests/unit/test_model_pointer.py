"""The model pointer, with a fake model (no numpy, no LiteRT): the version
named by ``models/current`` re-read once per TTL, hot swap, failures."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from shared.ranking.model_pointer import ModelPointer, ModelUnavailable


class FakeModel:
    """Scores a candidate by how many words it shares with the context."""

    def __init__(self, version: str) -> None:
        self.version = version

    def scores(self, context, candidate_texts):
        words = set(context.turns[-1].lower().split())
        return np.array([len(words & set(t.lower().split())) for t in candidate_texts], dtype=np.float32)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pointer_to(version: str | None):
    return {"version": version, "uri": f"/models/{version}"} if version else None


class Harness:
    def __init__(self, version: str | None, ttl_s: float = 30.0, gate: threading.Event | None = None) -> None:
        self.pointer = pointer_to(version)
        self.loaded: list[str] = []
        self.clock = Clock()
        self.gate = gate
        self.models = ModelPointer(lambda: self.pointer, ttl_s, self._load, self.clock)

    def _load(self, uri: str) -> FakeModel:
        if self.gate is not None and self.loaded:
            assert self.gate.wait(5)
        self.loaded.append(uri)
        return FakeModel(uri.rsplit("/", 1)[1])

    def settle(self) -> None:
        for thread in threading.enumerate():
            if thread.name == "model-refresh":
                thread.join(5)


def test_no_published_model_is_a_clear_retryable_error():
    with pytest.raises(ModelUnavailable, match="models/current"):
        Harness(None).models.current()


def test_the_pointer_is_read_at_most_once_per_ttl():
    reads = []
    models = ModelPointer(lambda: reads.append(1) or pointer_to("v1"), 30.0, lambda uri: FakeModel("v1"), Clock())
    for _ in range(5):
        models.current()
    assert len(reads) == 1


def test_a_new_version_is_picked_up_after_the_ttl_without_a_restart():
    harness = Harness("v1", ttl_s=30.0)
    assert harness.models.current().version == "v1"
    harness.pointer = pointer_to("v2")
    harness.clock.now = 10.0
    assert harness.models.current().version == "v1"  # within the TTL: not even looked at
    harness.clock.now = 31.0
    harness.models.current()
    harness.settle()
    assert harness.models.current().version == "v2"
    assert harness.loaded == ["/models/v1", "/models/v2"]


def test_the_old_version_keeps_serving_while_the_new_one_loads():
    gate = threading.Event()
    harness = Harness("v1", ttl_s=1.0, gate=gate)
    harness.models.current()
    harness.pointer = pointer_to("v2")
    harness.clock.now = 5.0
    assert harness.models.current().version == "v1"  # the load of v2 is blocked...
    assert harness.models.current().version == "v1"  # ...and requests still get v1
    gate.set()
    harness.settle()
    assert harness.models.current().version == "v2"


def test_a_version_that_fails_to_load_leaves_the_old_one_serving():
    harness = Harness("v1", ttl_s=1.0)
    harness.models.current()

    def broken(uri):
        raise OSError("no such file")

    harness.models._load = broken
    harness.pointer = pointer_to("v2")
    harness.clock.now = 5.0
    harness.models.current()
    harness.settle()
    assert harness.models.current().version == "v1"


def test_a_failed_pointer_read_after_the_first_load_keeps_the_model_serving():
    harness = Harness("v1", ttl_s=1.0)
    harness.models.current()

    def unreachable():
        raise ConnectionError("firestore is down")

    harness.models._read_pointer = unreachable
    harness.clock.now = 5.0
    assert harness.models.current().version == "v1"
    harness.settle()
    assert harness.models.current().version == "v1"


def test_a_slow_load_is_not_started_twice_by_later_ttl_checks():
    gate = threading.Event()
    harness = Harness("v1", ttl_s=1.0, gate=gate)
    harness.models.current()
    harness.pointer = pointer_to("v2")
    for now in (5.0, 10.0, 15.0):
        harness.clock.now = now
        harness.models.current()
    gate.set()
    harness.settle()
    assert harness.loaded == ["/models/v1", "/models/v2"]
