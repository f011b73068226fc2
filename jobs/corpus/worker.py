"""A corpus worker: lease a shard task, build its candidates, write, ack.

The lease, the loop and the settlement are shared/messaging/lease.py's. A
worker that dies loses nothing and doubles nothing: the task comes back when
its lease lapses, and the shard's documents are built the same way every time
and written only if they changed (``store``).
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
from shared.messaging.lease import SHORT_POLL, DeadLetters, LeaseLoop, Outcome, Poison

log = logging.getLogger("zatsudan.corpus.worker")


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
    def __init__(
        self, subscriber, publisher, db, options: WorkerOptions, name: str | None = None,
        storage: shards.StorageClient | None = None,
    ) -> None:
        self._subscriber = subscriber
        self._publisher = publisher
        self._db = db
        self._storage = storage  # shards at gs://
        self.options = options
        self.name = name or f"worker-{os.getpid()}"
        self.stop = threading.Event()
        self._loop = LeaseLoop(
            subscriber,
            options.subscription,
            self._work_on,
            options.ack_deadline_s,
            SHORT_POLL,
            self.stop,
            self.name,
            DeadLetters(publisher, options.dead_letter_topic),
        )

    def run(self) -> int:
        """Works until ``stop`` is set (or the queue stays empty for
        ``idle_exit_s``); returns the number of shards finished."""
        return self._loop.run(self.options.idle_exit_s)

    def handle(self, received) -> None:
        self._loop.handle(received)

    def _work_on(self, message) -> Outcome:
        try:
            task = shards.ShardTask.from_json(message.data)
            self.process(task)
        except shards.TaskError as error:
            raise Poison(str(error)) from error  # can never succeed: kept for inspection, no more retries
        except Exception:
            # Anything else may pass next time: let the lease go at once.
            # After the subscription's max delivery attempts Pub/Sub
            # moves the task to the dead-letter topic itself.
            log.exception("%s: task %s failed; returning it", self.name, message.message_id)
            return Outcome.RETURNED
        return Outcome.DONE

    def process(self, task: shards.ShardTask) -> None:
        print(f"{self.name}: leased shard {task.shard} of run {task.run_id} ({task.rows} rows)", flush=True)
        started = time.perf_counter()
        rows = shards.read_rows(task.uri, self._storage)
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

