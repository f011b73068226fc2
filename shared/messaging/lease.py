"""The batch workers' loop: pull one task, hold its lease while it is worked
on, then settle it (corpus shard tasks in jobs/corpus, trials in jobs/train).

The task queue is a Pub/Sub pull subscription; a pulled message is a lease
that lasts the subscription's ack deadline. While the handler runs, a keeper
thread extends the lease (``modify_ack_deadline``) every third of it. A
worker that dies (SIGKILL, a reclaimed spot VM) stops extending, the lease
runs out, and Pub/Sub hands the task to another worker.

The handler says how the task ended (:class:`Outcome`), and that decides
the settlement (``SETTLEMENT``): acknowledged, or returned to the queue at
once (a nack: ack deadline 0), where the subscription's dead-letter policy
takes it after ``MAX_DELIVERY_ATTEMPTS``. A task that can never succeed
raises :class:`Poison`: the loop publishes it to the dead-letter topic with
the reason and acknowledges it. Anything else the handler raises ends the
loop (the lease lapses and the task comes back later).

Synchronous ``pull()``, not streaming ``subscribe()``: the Pub/Sub emulator
stops delivering to a re-opened streaming pull (see the handbook).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from shared.messaging.publish import dead_letter_attributes

log = logging.getLogger(__name__)

DEAD_LETTER_PUBLISH_TIMEOUT_S = 30


class Outcome(enum.Enum):
    DONE = "done"  # acknowledged, counted as work done
    SKIPPED = "skipped"  # acknowledged: nothing to do (e.g. a trial of an abandoned run)
    RETURNED = "returned"  # nacked: may pass next time, or on another worker
    DEAD_LETTERED = "dead lettered"  # the loop published it to the dead-letter topic; acknowledged


class Poison(Exception):
    """The task can never succeed: dead-letter it with this reason and stop retrying."""


ACK, NACK = "ack", "nack"
SETTLEMENT = {Outcome.DONE: ACK, Outcome.SKIPPED: ACK, Outcome.DEAD_LETTERED: ACK, Outcome.RETURNED: NACK}


@dataclass(frozen=True)
class Polling:
    """How a worker asks the queue for its next task."""

    timeout_s: float
    return_immediately: bool  # an empty queue answers at once, instead of waiting in the pull
    empty_sleep_s: float  # pause after an empty answer
    errors_mean_empty: bool  # a failed pull counts as an empty queue (else it ends the loop)


# Ask, and with the queue empty ask again very soon: the corpus workers'
# phase starts when the coordinator publishes the tasks, and a worker asleep
# for up to 0.25 s then lost that much of a small run's phase (about 3 s).
# An empty pull is cheap.
SHORT_POLL = Polling(timeout_s=10.0, return_immediately=True, empty_sleep_s=0.05, errors_mean_empty=False)
# Wait in the pull for the next trial; DeadlineExceeded on an empty queue,
# and transient errors, are one more empty answer.
LONG_POLL = Polling(timeout_s=15.0, return_immediately=False, empty_sleep_s=0.0, errors_mean_empty=True)


class LeaseKeeper:
    """Extends one message's lease until stopped."""

    def __init__(self, subscriber, subscription: str, ack_id: str, lease_s: float) -> None:
        self._subscriber = subscriber
        self._subscription = subscription
        self._ack_id = ack_id
        self._lease_s = lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> "LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._lease_s / 3):
            try:
                self._subscriber.modify_ack_deadline(
                    request={"subscription": self._subscription, "ack_ids": [self._ack_id], "ack_deadline_seconds": self._lease_s}
                )
            except Exception as error:  # the next try may work; the lease may still hold
                log.warning("lease extension failed: %s", error)


@dataclass
class DeadLetters:
    """Where poison tasks go: a topic path, through a ``pubsub_v1.PublisherClient``."""

    publisher: object
    topic_path: str  # projects/P/topics/T

    def publish(self, message, reason: str, source: str) -> None:
        # Tasks are published without attributes: the dead letter carries only why.
        attributes = dead_letter_attributes(reason, source, message.message_id)
        self.publisher.publish(self.topic_path, message.data, **attributes).result(timeout=DEAD_LETTER_PUBLISH_TIMEOUT_S)


@dataclass
class LeaseLoop:
    """Pulls tasks from ``subscription`` one at a time and hands each to
    ``handler`` under a lease, until ``stop`` is set or the queue stays
    empty for ``idle_exit_s``."""

    subscriber: object
    subscription: str  # projects/P/subscriptions/S
    handler: Callable[[object], Outcome]  # gets the pulled message (data, message_id, attributes)
    lease_s: float
    polling: Polling
    stop: threading.Event
    name: str = "worker"
    dead_letters: DeadLetters | None = None  # needed only if the handler raises Poison
    # Outcomes after which the idle clock starts again (default: any task pulled).
    activity: frozenset = frozenset(Outcome)

    def run(self, idle_exit_s: float | None = None) -> int:
        """Works until stopped or idle; returns how many tasks were done."""
        done = 0
        idle_since = time.monotonic()
        while not self.stop.is_set():
            received = self._pull()
            if received is None:
                if idle_exit_s is not None and time.monotonic() - idle_since > idle_exit_s:
                    break
                self.stop.wait(self.polling.empty_sleep_s)
                continue
            outcome = self.handle(received)
            done += outcome is Outcome.DONE
            if outcome in self.activity:
                idle_since = time.monotonic()
        return done

    def handle(self, received) -> Outcome:
        """Works on one pulled task under its lease, then settles it."""
        with LeaseKeeper(self.subscriber, self.subscription, received.ack_id, self.lease_s):
            try:
                outcome = self.handler(received.message)
            except Poison as error:
                log.error("%s: dead-lettering task %s: %s", self.name, received.message.message_id, error)
                self.dead_letters.publish(received.message, str(error), self.name)
                outcome = Outcome.DEAD_LETTERED
        if SETTLEMENT[outcome] == ACK:
            self.subscriber.acknowledge(request={"subscription": self.subscription, "ack_ids": [received.ack_id]})
        else:
            self.subscriber.modify_ack_deadline(
                request={"subscription": self.subscription, "ack_ids": [received.ack_id], "ack_deadline_seconds": 0}
            )
        return outcome

    def _pull(self):
        """The next task, or None when the queue is empty."""
        request = {"subscription": self.subscription, "max_messages": 1}
        if self.polling.return_immediately:
            request["return_immediately"] = True
        try:
            response = self.subscriber.pull(request=request, timeout=self.polling.timeout_s)
        except Exception as error:
            if not self.polling.errors_mean_empty:
                raise
            log.debug("pull: %s", error)
            return None
        return response.received_messages[0] if response.received_messages else None
