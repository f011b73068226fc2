"""Log sink: one selection log -> one BigQuery row, duplicates dropped."""

from __future__ import annotations

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


class FakeLedger:
    def __init__(self, seen=()) -> None:
        self.ids = set(seen)

    def seen(self, message_id: str) -> bool:
        return message_id in self.ids

    def mark(self, message_id: str) -> None:
        self.ids.add(message_id)


@pytest.fixture
def selection() -> SelectionLog:
    return SelectionLog.from_dict(load_golden("selection-log.json"))


def test_a_new_log_is_inserted_once_with_its_message_id_as_insert_id(selection):
    bigquery, ledger = FakeBigQuery(), FakeLedger()
    assert LogSinkService(bigquery, TABLE, ledger).handle(selection) is True
    assert bigquery.inserts == [(TABLE, [selection.to_row()], [selection.message_id])]
    assert ledger.seen(selection.message_id)


def test_the_same_log_twice_is_one_row(selection):
    bigquery, ledger = FakeBigQuery(), FakeLedger()
    service = LogSinkService(bigquery, TABLE, ledger)
    assert [service.handle(selection), service.handle(selection)] == [True, False]
    assert len(bigquery.inserts) == 1


def test_a_row_bigquery_rejects_is_a_schema_error_and_not_marked(selection):
    ledger = FakeLedger()
    service = LogSinkService(FakeBigQuery(errors=[{"index": 0, "errors": [{"reason": "invalid"}]}]), TABLE, ledger)
    with pytest.raises(RowRejected) as raised:
        service.handle(selection)
    assert isinstance(raised.value, SchemaError)  # so the push handler dead-letters it
    assert not ledger.seen(selection.message_id)


def test_a_failing_insert_propagates_and_is_not_marked(selection):
    ledger = FakeLedger()
    with pytest.raises(ConnectionError):
        LogSinkService(FakeBigQuery(raises=ConnectionError("down")), TABLE, ledger).handle(selection)
    assert not ledger.seen(selection.message_id)
