"""Log sink methods: one event (selection log, feedback) -> one BigQuery row, exactly once.

The event's key (``insert_id``: the message id of a selection log, the
feedback id of a feedback) is both the ledger key (a row already written is
dropped) and the BigQuery insert id (BigQuery's own best-effort
de-duplication covers the window between the insert and the ledger write; the
``*_dedup`` views cover what that misses).

Rows are written by a ``RowBatcher``: concurrent deliveries share one
``insertAll`` call, and each delivery returns (is acknowledged) only after
its own row was written.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from typing import Any, Protocol

from shared.events import SchemaError
from shared.stores import SinkLedger

log = logging.getLogger(__name__)


class RowRejected(SchemaError):
    """BigQuery refused the row itself: retrying cannot help."""


class Loggable(Protocol):
    @property
    def insert_id(self) -> str: ...

    def to_row(self) -> dict[str, Any]: ...


class RowBatcher:
    """Buffers rows for at most ``max_wait_s`` and writes them in one ``insertAll``.

    The first caller of a batch waits out the window and writes it; callers
    that join meanwhile wait for that write. Each caller gets its own row's
    fate: returned (written), ``RowRejected`` (BigQuery refused that row), or
    the transport error (retry). A batch BigQuery refuses is retried row by
    row, because one bad row stops every row of its request.
    """

    def __init__(self, bigquery_client, table_id: str, max_rows: int = 500, max_wait_s: float = 0.02) -> None:
        self.bigquery = bigquery_client
        self.table_id = table_id
        self.max_rows = max_rows
        self.max_wait_s = max_wait_s
        self._lock = threading.Lock()
        self._pending: list[tuple[dict, str, Future]] = []
        self._full = threading.Event()

    def insert(self, row: dict, insert_id: str) -> None:
        done: Future = Future()
        with self._lock:
            self._pending.append((row, insert_id, done))
            leader = len(self._pending) == 1
            if len(self._pending) >= self.max_rows:
                self._full.set()
        if leader:
            if self.max_wait_s > 0:
                self._full.wait(self.max_wait_s)
            with self._lock:
                batch, self._pending = self._pending, []
                self._full.clear()
            self._write(batch)
        done.result()

    def _write(self, batch: list[tuple[dict, str, Future]]) -> None:
        try:
            errors = self._insert([row for row, _, _ in batch], [key for _, key, _ in batch])
        except BaseException as error:  # transient: every caller answers 500, Pub/Sub retries
            for _, _, done in batch:
                done.set_exception(error)
            return
        if not errors:
            for _, _, done in batch:
                done.set_result(None)
        elif len(batch) == 1:
            batch[0][2].set_exception(RowRejected(f"BigQuery rejected the row: {errors}"))
        else:
            for item in batch:
                self._write([item])

    def _insert(self, rows: list[dict], row_ids: list[str]) -> list:
        return self.bigquery.insert_rows_json(self.table_id, rows, row_ids=row_ids)


class LogSinkService:
    def __init__(self, bigquery_client, table_id: str, ledger: SinkLedger, max_wait_s: float = 0.02) -> None:
        self.table_id = table_id
        self.ledger = ledger
        self.writer = RowBatcher(bigquery_client, table_id, max_wait_s=max_wait_s)

    def handle(self, event: Loggable) -> bool:
        """Writes the row; returns False when it was a duplicate."""
        key = event.insert_id
        if self.ledger.seen(key):
            log.info("duplicate dropped: %s already in %s", key, self.table_id)
            return False
        started = time.perf_counter()
        self.writer.insert(event.to_row(), key)
        self.ledger.mark(key)
        log.info("row written to %s in %.0f ms", self.table_id, (time.perf_counter() - started) * 1000.0)
        return True
