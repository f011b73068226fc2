"""Log sink: one selection log -> one BigQuery row under its message id as insert id."""

from __future__ import annotations

import time

import pytest

from shared.events import SchemaError, SelectionLog
from shared.log_sink import LogSinkService, RowRejected

from .fakes import load_golden

TABLE = "zatsudan-local.zatsudan.selections"


class FakeBigQuery:
    def __init__(self, errors=None, raises: Exception | None = None) -> None:
        self.errors = errors or []
        self.raises = raises
        self.inserts: list[tuple] = []

    def insert_rows_json(self, table_id, rows, row_ids=None):
        if self.raises is not None:
            raise self.raises
        self.inserts.append((table_id, rows, row_ids))
        return self.errors


@pytest.fixture
def selection() -> SelectionLog:
    return SelectionLog.from_dict(load_golden("selection-log.json"))


def test_a_new_log_is_inserted_once_with_its_message_id_as_insert_id(selection):
    bigquery = FakeBigQuery()
    assert LogSinkService(bigquery, TABLE).handle(selection) == 1
    assert bigquery.inserts == [(TABLE, [selection.to_row()], [selection.message_id])]


def test_the_same_log_twice_is_sent_under_the_same_insert_id(selection):
    """BigQuery drops the second as a duplicate (the integration test sees one row)."""
    bigquery = FakeBigQuery()
    service = LogSinkService(bigquery, TABLE)
    service.handle(selection)
    service.handle(selection)
    assert [row_ids for _, _, row_ids in bigquery.inserts] == [[selection.message_id]] * 2


def test_a_row_bigquery_rejects_is_a_schema_error(selection):
    service = LogSinkService(FakeBigQuery(errors=[{"index": 0, "errors": [{"reason": "invalid"}]}]), TABLE)
    with pytest.raises(RowRejected) as raised:
        service.handle(selection)
    assert isinstance(raised.value, SchemaError)  # so the push handler dead-letters it


def test_a_failing_insert_propagates(selection):
    with pytest.raises(ConnectionError):
        LogSinkService(FakeBigQuery(raises=ConnectionError("down")), TABLE).handle(selection)


class GatedBigQuery:
    """The first insert blocks until released, so others queue up behind it.
    Rows whose ``bad`` field is set are refused (and stop their whole request)."""

    def __init__(self) -> None:
        import threading

        self.first_started, self.release = threading.Event(), threading.Event()
        self.calls: list[list[str]] = []

    def insert_rows_json(self, table_id, rows, row_ids=None):
        self.calls.append(list(row_ids))
        if len(self.calls) == 1:
            self.first_started.set()
            self.release.wait(5)
        bad = [i for i, row in enumerate(rows) if row.get("bad")]
        return [{"index": i, "errors": [{"reason": "invalid" if i in bad else "stopped"}]} for i in range(len(rows))] if bad else []


def _insert_concurrently(batcher, rows: dict[str, dict], gate: GatedBigQuery) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    outcomes = {}
    with ThreadPoolExecutor(len(rows) + 1) as pool:
        first = pool.submit(batcher.insert, {"n": 0}, "first")
        gate.first_started.wait(5)
        futures = {key: pool.submit(batcher.insert, row, key) for key, row in rows.items()}
        while len(batcher._pending) < len(rows):  # all queued behind the first write
            time.sleep(0.001)
        gate.release.set()
        outcomes["first"] = first.result(5)
        for key, future in futures.items():
            try:
                outcomes[key] = future.result(5)
            except RowRejected:
                outcomes[key] = "rejected"
    return outcomes


def test_rows_arriving_during_a_write_share_the_next_insert():
    from shared.log_sink import RowBatcher

    gate = GatedBigQuery()
    outcomes = _insert_concurrently(RowBatcher(gate, TABLE), {f"r{i}": {"n": i} for i in range(5)}, gate)
    assert gate.calls[0] == ["first"]
    assert sorted(gate.calls[1]) == [f"r{i}" for i in range(5)] and len(gate.calls) == 2
    assert outcomes == {"first": 1, **{f"r{i}": 5 for i in range(5)}}


def test_a_bad_row_in_a_batch_fails_alone():
    from shared.log_sink import RowBatcher

    gate = GatedBigQuery()
    rows = {"good-1": {"n": 1}, "bad": {"bad": True}, "good-2": {"n": 2}}
    outcomes = _insert_concurrently(RowBatcher(gate, TABLE), rows, gate)
    assert outcomes["bad"] == "rejected"
    assert outcomes["good-1"] == outcomes["good-2"] == 1  # rewritten alone
