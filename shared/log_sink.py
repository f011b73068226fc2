"""Log sink methods: one event (selection log, feedback) -> one BigQuery row, exactly once.

The event's key (``insert_id``: the message id of a selection log, the
feedback id of a feedback) is the row's BigQuery insert id: a delivery of the
same event again (a Pub/Sub redelivery, a scorer replaying its decision)
inserts the same row under the same id, which BigQuery drops as a duplicate
within its de-duplication window (about a minute; the local stand-in keeps
60 s too). Every reader goes through the ``*_dedup`` views, which keep one
row per key whenever a duplicate arrives later than that. No Firestore
ledger: the sink costs no document read or write per row (docs/reliability.md).

Rows are written by a ``RowBatcher``: concurrent deliveries share one
``insertAll`` call, and each delivery returns (is acknowledged) only after
its own row was written. (Measured with bench/log_sink.py: the Pub/Sub
emulator pushes one or two messages at a time, so locally batches stay
small; production push delivers concurrently.)
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from typing import Any, Protocol

from shared import faults as faults_module
from shared.events import SchemaError

log = logging.getLogger(__name__)


class RowRejected(SchemaError):
    """BigQuery refused the row itself: retrying cannot help."""


class Loggable(Protocol):
    @property
    def insert_id(self) -> str: ...

    def to_row(self) -> dict[str, Any]: ...


class _Slot:
    def __init__(self, row: dict, insert_id: str) -> None:
        self.row = row
        self.insert_id = insert_id
        self.done: Future = Future()
        self.wake = threading.Event()  # set when done, or when it is this slot's turn to write


class RowBatcher:
    """Group commit: rows that arrive while an ``insertAll`` is in flight are
    written together by the next one, so concurrent deliveries share calls and
    a lone delivery waits for nothing.

    Each caller gets its own row's fate: a return (written; the value is the
    batch size), ``RowRejected`` (BigQuery refused that row), or the transport
    error (the delivery is retried). A batch BigQuery refuses is retried row
    by row, because one bad row stops every row of its request.
    """

    def __init__(self, bigquery_client, table_id: str, max_rows: int = 500) -> None:
        self.bigquery = bigquery_client
        self.table_id = table_id
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._pending: list[_Slot] = []
        self._writing = False

    def insert(self, row: dict, insert_id: str) -> int:
        """Returns once the row is written: the number of rows written with it."""
        slot = _Slot(row, insert_id)
        with self._lock:
            self._pending.append(slot)
            lead = not self._writing
            self._writing = True
        if not lead:
            slot.wake.wait()
            lead = not slot.done.done()  # woken to write the next batch
        if lead:
            self._write_next_batch()
        return slot.done.result()

    def _write_next_batch(self) -> None:
        with self._lock:
            batch, self._pending = self._pending[: self.max_rows], self._pending[self.max_rows :]
        self._write(batch)
        with self._lock:
            successor = self._pending[0] if self._pending else None
            self._writing = successor is not None
        if successor is not None:
            successor.wake.set()  # hand over: it writes what queued up meanwhile

    def _write(self, batch: list[_Slot]) -> None:
        try:
            errors = self.bigquery.insert_rows_json(
                self.table_id, [slot.row for slot in batch], row_ids=[slot.insert_id for slot in batch]
            )
        except Exception as error:  # transient: each caller answers 500, Pub/Sub retries
            errors, failure = None, error
        else:
            failure = None
        if failure is None and errors and len(batch) > 1:
            for slot in batch:
                self._write([slot])
            return
        for slot in batch:
            if failure is not None:
                slot.done.set_exception(failure)
            elif errors:
                slot.done.set_exception(RowRejected(f"BigQuery rejected the row: {errors}"))
            else:
                slot.done.set_result(len(batch))
            slot.wake.set()


class LogSinkService:
    def __init__(
        self,
        bigquery_client,
        table_id: str,
        faults: faults_module.FaultInjector = faults_module.NO_FAULTS,
    ) -> None:
        self.table_id = table_id
        self.faults = faults
        self.writer = RowBatcher(bigquery_client, table_id)

    def handle(self, event: Loggable) -> int:
        """Writes the row under its insert id; returns the rows written in the same call."""
        key = event.insert_id
        self.faults.point("log_sink.before_insert", key, key)
        started = time.perf_counter()
        batch_size = self.writer.insert(event.to_row(), key)
        log.info(
            "row written to %s in %.0f ms (batch of %d)",
            self.table_id,
            (time.perf_counter() - started) * 1000.0,
            batch_size,
        )
        return batch_size
