"""Nothing lost, nothing doubled: faults injected at named points, and a crashed scorer.

Both run on the session stack with its scorer and log sink restarted under
fault settings (restored afterwards), and check the same invariants:
every accepted utterance has exactly one reply and exactly one row in the raw
``selections`` table, and no reply changed after it first appeared.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from shared.messaging import topology
from tests.e2e.reliability import ReplyRecorder, check_invariants, functions_with, restore, send_utterances

# The issue asks for 500; the local log sink writes 1-4 rows/s (one push, one
# insertAll per row; slower with faults and a busy machine), so 500 take 3 to
# 7 minutes: 100 for a developer's `make test`, 500 in CI (.ci/run sets
# FAULT_UTTERANCES=500). The waits grow with the count.
FAULT_UTTERANCES = int(os.environ.get("FAULT_UTTERANCES", "100"))
FAULT_WAIT_S = max(400, 2 * FAULT_UTTERANCES)
CRASH_UTTERANCES = int(os.environ.get("CRASH_UTTERANCES", "60"))
CONVERSATIONS = 50
# Fewer faults per message than delivery attempts: every fault is transient,
# so every message must come through (a fault that never clears is
# the dead-letter test's case).
FAULT_LIMIT = topology.MAX_DELIVERY_ATTEMPTS - 2


def expect_exactly_once(outcome):
    n = outcome["accepted"]
    assert outcome == {
        "accepted": n, "replies": n, "replied_once": n, "rows": n, "row_once": n, "strangers": [], "changed": [],
    }


@pytest.mark.slow
@pytest.mark.timeout(FAULT_WAIT_S + 300)
def test_faults_at_every_point_lose_and_double_nothing(stack, clients, settings, unique, pull):
    dead = [pull(topology.dead_letter_topic(t)) for t in ("utterances", "selection-logs")]
    recorder = ReplyRecorder(clients.firestore)
    faults = {
        "FAULT_RATE": "0.2",
        "FAULT_POINTS": "scorer.before_write,scorer.after_write,log_sink.before_insert",
        "FAULT_LIMIT": str(FAULT_LIMIT),
    }
    log_sizes = _log_sizes(stack)
    try:
        with functions_with(stack, **faults):
            started = time.monotonic()
            accepted = send_utterances(stack.url("ingress"), unique, FAULT_UTTERANCES, CONVERSATIONS)
            assert len(accepted) == FAULT_UTTERANCES
            outcome = check_invariants(clients, settings, recorder, accepted, unique, CONVERSATIONS, timeout_s=FAULT_WAIT_S)
            elapsed = time.monotonic() - started
    finally:
        recorder.close()
    print(f"\nfaults: {outcome['accepted']} utterances in {elapsed:.0f} s; "
          f"injected faults: {_injected(stack, log_sizes)}")
    expect_exactly_once(outcome)
    assert [reader.read(expect=1, timeout=1) for reader in dead] == [[], []]


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_push_targets_killed_mid_run_lose_and_double_nothing(stack, clients, settings, unique):
    """SIGKILL the scorer and the log sink (the push targets) with utterances in
    flight; pushes fail while they are down; restart them; same invariants."""
    recorder = ReplyRecorder(clients.firestore)
    try:
        sender = threading.Thread(
            target=lambda: accepted.extend(send_utterances(stack.url("ingress"), unique, CRASH_UTTERANCES, CONVERSATIONS, workers=2))
        )
        accepted: list[str] = []
        sender.start()
        time.sleep(1.5)  # utterances in flight
        stack.kill("scorer")
        stack.kill("log_sink")
        time.sleep(2.0)  # pushes fail meanwhile; Pub/Sub redelivers them
        stack.restart("scorer")
        stack.restart("log_sink")
        sender.join()
        assert len(accepted) == CRASH_UTTERANCES
        outcome = check_invariants(clients, settings, recorder, accepted, unique, CONVERSATIONS, timeout_s=240)
    finally:
        recorder.close()
        restore(stack, ("scorer", "log_sink"))
    expect_exactly_once(outcome)


def _log_sizes(stack) -> dict:
    paths = [stack.logs_dir / f"{name}.log" for name in ("scorer", "log_sink")]
    return {p: (p.stat().st_size if p.exists() else 0) for p in paths}


def _injected(stack, sizes: dict) -> int:
    """Faults injected since ``sizes`` were taken, counted in the functions' logs."""
    count = 0
    for path, size in sizes.items():
        with open(path, "rb") as log:
            log.seek(size)
            count += log.read().decode(errors="replace").count('"message": "injected fault at')
    return count


@pytest.mark.slow
def test_a_message_that_always_fails_is_dead_lettered_after_the_configured_attempts(stack, unique, pull):
    """A transient-looking failure that never clears: the handler gives up at
    MAX_DELIVERY_ATTEMPTS and moves the message to ``utterances-dead`` with
    the last error as its reason; no delivery after that."""
    import requests

    dead = pull(topology.dead_letter_topic("utterances"))
    poison = f"poison-{unique}"
    sizes = _log_sizes(stack)
    with functions_with(stack, FAULT_RATE="1", FAULT_POINTS="scorer.before_write", FAULT_MATCH=poison):
        response = requests.post(
            f"{stack.url('ingress')}/v1/utterances", json={"user_id": unique, "text": f"hello {poison}"}, timeout=10
        )
        assert response.status_code == 202
        message_id = response.json()["message_id"]
        letters = dead.read(expect=1, timeout=120)
        time.sleep(5)  # past the longest backoff after the last attempt: no more deliveries
        attempts = _injected_for(sizes, message_id)
    assert [m.attributes["message_id"] for m in letters] == [message_id]
    assert "gave up after 5 attempts" in letters[0].attributes["dead_letter_reason"]
    assert "InjectedFault" in letters[0].attributes["dead_letter_reason"]
    assert attempts == topology.MAX_DELIVERY_ATTEMPTS


def _injected_for(sizes: dict, key: str) -> int:
    count = 0
    for path, size in sizes.items():
        with open(path, "rb") as log:
            log.seek(size)
            count += sum(1 for line in log.read().decode(errors="replace").splitlines()
                         if '"message": "injected fault at' in line and key in line)
    return count
