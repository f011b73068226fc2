"""Fixtures shared by the integration and end-to-end tests.

The first test that asks for ``stack`` starts a whole local stack of its own
(real emulators, real functions) on ``TEST_PORT_BASE`` (default 8700, beside a
developer's ``make up`` on 8600), and the session stops it at the end. Unit
tests never ask for it, so ``pytest tests/unit`` starts nothing.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_PORT_BASE = int(os.environ.get("TEST_PORT_BASE", "8700"))


@pytest.fixture(scope="session")
def stack():
    from infra.local.stack import Stack

    # The RTDB server runs too, so tests can switch the functions to
    # REPLY_STORE=rtdb on this one stack (Stack.switch_reply_store).
    # Tests share the stack's data: a one-second candidate cache lets the
    # scorer see candidates another test seeded right after it missed them.
    stack = Stack(
        run_dir=REPO / ".run" / f"test-{TEST_PORT_BASE}",
        port_base=TEST_PORT_BASE,
        with_rtdb=True,
        extra_env={"CANDIDATE_CACHE_TTL_S": "1"},
    )
    env = stack.up()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the official clients find the emulators by these
    try:
        yield stack
    finally:
        stack.down()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def settings(stack):
    from shared import config

    return config.load()


@pytest.fixture(scope="session")
def clients(settings):
    from shared.clients import Clients

    return Clients(settings)


@pytest.fixture
def unique():
    """A fresh id for conversations, users and keywords, so tests sharing the
    emulators never see each other's data."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pull(stack, clients):
    """``pull(topic)`` -> a fresh pull subscription on ``topic`` and a reader.

    A fresh subscription per test sees only what is published after it was
    made (and sidesteps the emulator's streaming-pull bug: synchronous pull).
    """
    from tests.support import PullReader

    readers = []

    def make(topic: str) -> "PullReader":
        reader = PullReader(stack.project, topic)
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        reader.close()
