"""Fixtures shared by the unit tests (pure logic: no emulators, no network,
no TensorFlow)."""

from __future__ import annotations

from typing import Any

import pytest

from .fakes import FakePublisher, load_golden


@pytest.fixture
def fake_publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def utterance_dict() -> dict[str, Any]:
    return load_golden("utterance-event.json")


@pytest.fixture
def selection_dict() -> dict[str, Any]:
    return load_golden("selection-log.json")
