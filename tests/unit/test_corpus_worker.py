"""The worker's lease handling, with a fake subscriber (the real one is
exercised against the emulator in tests/integration/test_corpus.py)."""

from __future__ import annotations

import time
from types import SimpleNamespace

from jobs.corpus import shards
from jobs.corpus.worker import Worker, WorkerOptions


class FakeSubscriber:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def modify_ack_deadline(self, request):
        self.calls.append(("modify", request))

    def acknowledge(self, request):
        self.calls.append(("ack", request))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, dict]] = []

    def publish(self, topic, data, **attributes):
        self.published.append((topic, data, attributes))
        return SimpleNamespace(result=lambda timeout=None: "1")


def received(data: bytes):
    return SimpleNamespace(ack_id="ack-1", message=SimpleNamespace(data=data, message_id="m1"))


def worker(deadline_s=10):
    options = WorkerOptions(subscription="projects/p/subscriptions/s", dead_letter_topic="projects/p/topics/t-dead",
                            ack_deadline_s=deadline_s)
    return Worker(FakeSubscriber(), FakePublisher(), db=None, options=options, name="w")


TASK = shards.ShardTask(run_id="r", shard=0, uri="file:///nowhere", rows=1).to_json()


def test_the_lease_is_extended_while_a_shard_is_worked_on_then_acked():
    w = worker(deadline_s=0.3)
    w.process = lambda task: time.sleep(0.45)
    w.handle(received(TASK))
    names = w._subscriber.names()
    assert names.count("modify") >= 2 and names[-1] == "ack"
    assert all(r["ack_deadline_seconds"] == 0.3 for n, r in w._subscriber.calls if n == "modify")


def test_a_task_that_can_never_work_is_dead_lettered_with_its_reason_and_acked():
    w = worker()
    w.handle(received(b"not json"))
    [(topic, data, attributes)] = w._publisher.published
    assert (topic, data) == ("projects/p/topics/t-dead", b"not json")
    assert "not JSON" in attributes["dead_letter_reason"] and attributes["original_message_id"] == "m1"
    assert w._subscriber.names() == ["ack"]


def test_a_missing_shard_is_dead_lettered_too():
    w = worker()
    w.handle(received(TASK))
    assert len(w._publisher.published) == 1 and w._subscriber.names() == ["ack"]


def test_a_failure_that_may_pass_later_releases_the_lease_at_once_without_ack():
    w = worker()

    def fail(task):
        raise RuntimeError("firestore unavailable")

    w.process = fail
    w.handle(received(TASK))
    assert w._subscriber.calls == [
        ("modify", {"subscription": "projects/p/subscriptions/s", "ack_ids": ["ack-1"], "ack_deadline_seconds": 0})
    ]
    assert w._publisher.published == []


def test_the_default_subscription_is_the_one_the_stack_provisions():
    from shared.messaging import topology
    from jobs.corpus.__main__ import DEFAULT_SUBSCRIPTION
    from shared.config import Topics

    [pull] = [p for p in topology.PULL_SUBSCRIPTIONS if p.name == DEFAULT_SUBSCRIPTION]
    assert pull.topic == Topics.corpus_tasks and pull.topic in topology.TOPICS


def test_the_summary_names_every_rule_and_both_languages():
    from collections import Counter

    from jobs.corpus.pipeline import Summary

    summary = Summary(
        run_id="r", rows_in=10, outcomes=Counter(kept=6, ng_word=1, too_long=2, duplicate=1), shards=2, rows_out=6,
        keywords=4, candidates=5, documents_changed=4, langs=Counter(ja=1, en=3), seconds={"load": 1.0, "total": 2.0},
    )
    text = summary.render()
    for expected in ("rows in            10", "filtered ng_word:   1", "filtered too_long:  2", "filtered duplicate: 1",
                     "rows kept          6", "candidates written 5 (4 documents changed)", "en 3, ja 1", "total 2.0s"):
        assert expected in text
