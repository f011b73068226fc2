"""A corpus worker: lease a shard task, build its candidates, write, ack.

The task queue is a Pub/Sub pull subscription; a pulled message is a lease
that lasts the subscription's ack deadline. While a shard is being worked on,
a keeper thread extends the lease (``modify_ack_deadline``) every third of
the deadline. A worker that dies (SIGKILL, a reclaimed spot VM) stops
extending, the lease runs out, and Pub/Sub hands the task to another worker.
Nothing is lost, and nothing is doubled: the shard's documents are built the
same way every time and written only if they changed (``store``).

Synchronous ``pull()``, not streaming ``subscribe()``: the Pub/Sub emulator
stops delivering to a re-opened streaming pull (see the handbook).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass

from jobs.corpus import candidates as candidates_lib
from jobs.corpus import shards
from jobs.corpus.store import CandidateWriter, RunProgress

log = logging.getLogger("zatsudan.corpus.worker")

# An idle worker asks the queue again this often: the workers' phase starts
# when the coordinator publishes the tasks, and a worker asleep for up to
# 0.25 s then lost that much of a small run's phase (about 3 s). An empty
# pull is cheap.
EMPTY_QUEUE_SLEEP_S = 0.05
PULL_TIMEOUT_S = 10.0


class LeaseKeeper:
    """Extends one message's lease until stopped."""

    def __init__(self, subscriber, subscription: str, ack_id: str, deadline_s: int) -> None:
        self._subscriber = subscriber
        self._subscription = subscription
        self._ack_id = ack_id
        self._deadline_s = deadline_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> "LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._deadline_s / 3):
            try:
                self._subscriber.modify_ack_deadline(
                    request={
                        "subscription": self._subscription,
                        "ack_ids": [self._ack_id],
                        "ack_deadline_seconds": self._deadline_s,
                    }
                )
            except Exception as error:  # the next try may work; the lease may still hold
                log.warning("lease extension failed: %s", error)


@dataclass
class WorkerOptions:
    subscription: str  # projects/P/subscriptions/S
    dead_letter_topic: str  # projects/P/topics/T
    ack_deadline_s: int
    candidates_collection: str = "candidates"
    write_batch_size: int = 400
    idle_exit_s: float | None = None  # exit after this long with an empty queue
    # Failure drills only: hold the lease this long after the first batch of
    # a shard's documents is written, so a kill lands mid-shard.
    drill_pause_s: float = 0.0


class Worker:
    def __init__(self, subscriber, publisher, db, options: WorkerOptions, name: str | None = None) -> None:
        self._subscriber = subscriber
        self._publisher = publisher
        self._db = db
        self.options = options
        self.name = name or f"worker-{os.getpid()}"
        self.stop = threading.Event()
        self.shards_done = 0

    def run(self) -> int:
        """Works until ``stop`` is set (or the queue stays empty for
        ``idle_exit_s``); returns the number of shards finished."""
        idle_since = time.monotonic()
        while not self.stop.is_set():
            response = self._subscriber.pull(
                request={"subscription": self.options.subscription, "max_messages": 1, "return_immediately": True},
                timeout=PULL_TIMEOUT_S,
            )
            if not response.received_messages:
                if self.options.idle_exit_s is not None and time.monotonic() - idle_since > self.options.idle_exit_s:
                    break
                self.stop.wait(EMPTY_QUEUE_SLEEP_S)
                continue
            self.handle(response.received_messages[0])
            idle_since = time.monotonic()
        return self.shards_done

    def handle(self, received) -> None:
        ack_id = received.ack_id
        with LeaseKeeper(self._subscriber, self.options.subscription, ack_id, self.options.ack_deadline_s):
            try:
                task = shards.ShardTask.from_json(received.message.data)
                self.process(task)
            except shards.TaskError as error:
                # Can never succeed: keep it for inspection, and stop retrying.
                log.error("%s: dead-lettering task %s: %s", self.name, received.message.message_id, error)
                self._publisher.publish(
                    self.options.dead_letter_topic,
                    received.message.data,
                    dead_letter_reason=str(error)[:1000],
                    dead_letter_source=self.name,
                    original_message_id=received.message.message_id,
                ).result(timeout=30)
            except Exception:
                # Anything else may pass next time: let the lease go at once.
                # After the subscription's max delivery attempts Pub/Sub
                # moves the task to the dead-letter topic itself.
                log.exception("%s: task %s failed; returning it", self.name, received.message.message_id)
                self._subscriber.modify_ack_deadline(
                    request={"subscription": self.options.subscription, "ack_ids": [ack_id], "ack_deadline_seconds": 0}
                )
                return
        self._subscriber.acknowledge(request={"subscription": self.options.subscription, "ack_ids": [ack_id]})

    def process(self, task: shards.ShardTask) -> None:
        print(f"{self.name}: leased shard {task.shard} of run {task.run_id} ({task.rows} rows)", flush=True)
        started = time.perf_counter()
        rows = shards.read_rows(task.uri)
        docs = candidates_lib.build(rows)
        built = time.perf_counter()
        writer = CandidateWriter(self._db, self.options.candidates_collection, self.options.write_batch_size)
        written = writer.write(docs.values(), after_batch=self._drill_pause if self.options.drill_pause_s else None)
        RunProgress(self._db, task.run_id).mark_done(
            task.shard,
            seconds={"build": built - started, "write": time.perf_counter() - built},
            rows=len(rows),
            keywords=dict(Counter(d.lang for d in docs.values())),
            candidates=sum(len(d.candidates) for d in docs.values()),
            written=written,
            worker=self.name,
        )
        self.shards_done += 1
        print(f"{self.name}: finished shard {task.shard} ({len(docs)} keywords, {written} documents changed)", flush=True)

    def _drill_pause(self, written: int) -> None:
        if written <= self.options.write_batch_size:  # after the first batch only
            print(f"{self.name}: drill pause {self.options.drill_pause_s}s after {written} documents", flush=True)
            self.stop.wait(self.options.drill_pause_s)


def install_stop_handlers(worker: Worker, signals: tuple = ()) -> None:
    """SIGTERM/SIGINT finish the current shard, then stop."""
    import signal

    def stop(signum, frame):
        worker.stop.set()

    for sig in signals or (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)

