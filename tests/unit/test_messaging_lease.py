"""The workers' pull-lease-ack loop, with a fake subscriber (the corpus
worker's own cases are in test_corpus_worker.py; both run against the
emulator in tests/integration/test_corpus.py and test_training.py)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from shared.messaging.lease import LONG_POLL, SHORT_POLL, LeaseLoop, Outcome, Poison

SUBSCRIPTION = "projects/p/subscriptions/s"


class FakeSubscriber:
    """Answers pulls from a script: a message's data, None (empty), or an exception."""

    def __init__(self, script) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, dict]] = []
        self.pulls: list[dict] = []

    def pull(self, request, timeout):
        self.pulls.append({**request, "timeout": timeout})
        step = self.script.pop(0) if self.script else None
        if isinstance(step, Exception):
            raise step
        if step is None:
            return SimpleNamespace(received_messages=[])
        message = SimpleNamespace(data=step, message_id=f"m{len(self.pulls)}", attributes={})
        return SimpleNamespace(received_messages=[SimpleNamespace(ack_id=f"a{len(self.pulls)}", message=message)])

    def modify_ack_deadline(self, request):
        self.calls.append(("nack" if request["ack_deadline_seconds"] == 0 else "extend", request["ack_ids"][0]))

    def acknowledge(self, request):
        self.calls.append(("ack", request["ack_ids"][0]))


OUTCOMES = {b"ok": Outcome.DONE, b"skip": Outcome.SKIPPED, b"retry": Outcome.RETURNED}


def handler(message):
    if message.data == b"poison":
        raise Poison("never")
    if message.data == b"crash":
        raise RuntimeError("crash")
    return OUTCOMES[message.data]


def loop(subscriber, polling=LONG_POLL, **options) -> LeaseLoop:
    return LeaseLoop(subscriber, SUBSCRIPTION, handler, 10, polling, threading.Event(), "w", **options)


def test_each_outcome_is_settled_by_the_table_and_only_done_tasks_are_counted():
    subscriber = FakeSubscriber([b"ok", b"skip", b"retry", b"ok"])
    assert loop(subscriber).run(idle_exit_s=0) == 2
    assert subscriber.calls == [("ack", "a1"), ("ack", "a2"), ("nack", "a3"), ("ack", "a4")]


def test_a_poison_task_is_dead_lettered_with_its_reason_and_acked():
    published = []
    dead_letters = SimpleNamespace(publish=lambda message, reason, source: published.append((message.data, reason, source)))
    subscriber = FakeSubscriber([b"poison"])
    assert loop(subscriber, dead_letters=dead_letters).run(idle_exit_s=0) == 0
    assert published == [(b"poison", "never", "w")] and subscriber.calls == [("ack", "a1")]


def test_a_handler_failure_ends_the_loop_without_settling_the_task():
    subscriber = FakeSubscriber([b"crash"])
    with pytest.raises(RuntimeError):
        loop(subscriber).run(idle_exit_s=0)
    assert subscriber.calls == []  # the lease lapses; the task comes back


def test_long_polling_waits_in_the_pull_and_takes_a_failed_pull_for_an_empty_queue():
    subscriber = FakeSubscriber([RuntimeError("DeadlineExceeded"), b"ok"])
    assert loop(subscriber).run(idle_exit_s=0.2) == 1
    assert subscriber.pulls[0] == {"subscription": SUBSCRIPTION, "max_messages": 1, "timeout": 15.0}


def test_short_polling_answers_at_once_and_a_failed_pull_ends_the_loop():
    subscriber = FakeSubscriber([RuntimeError("unavailable")])
    with pytest.raises(RuntimeError):
        loop(subscriber, SHORT_POLL).run(idle_exit_s=1)
    assert subscriber.pulls[0] == {"subscription": SUBSCRIPTION, "max_messages": 1, "return_immediately": True, "timeout": 10.0}


@pytest.mark.parametrize("activity, pulls", [(frozenset({Outcome.DONE}), range(1, 9)), (frozenset(Outcome), range(41, 100))])
def test_only_the_activity_outcomes_restart_the_idle_clock(activity, pulls):
    import time

    subscriber = FakeSubscriber([b"skip", None] * 20)  # skipped tasks between empty answers, 40 pulls
    original = subscriber.pull

    def pull(request, timeout):  # a pull takes 20 ms
        time.sleep(0.02)
        return original(request, timeout)

    subscriber.pull = pull
    LeaseLoop(subscriber, SUBSCRIPTION, handler, 10, LONG_POLL, threading.Event(), activity=activity).run(idle_exit_s=0.1)
    # Counting only done tasks, the loop is idle after 0.1 s though skipped
    # tasks kept coming; counting every task, it ends only after the last.
    assert len(subscriber.pulls) in pulls


def test_a_set_stop_ends_the_loop_before_the_next_pull():
    subscriber = FakeSubscriber([b"ok"])
    worker = loop(subscriber)
    worker.stop.set()
    assert worker.run() == 0 and subscriber.pulls == []
