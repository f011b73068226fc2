"""Local BigQuery's streaming buffer (infra/local/bigquery_streaming.py) is invisible to clients:
rows a call accepted are there for the very next read of any kind, and bad rows are refused at once."""

from __future__ import annotations

import uuid

import pytest
from google.cloud import bigquery


@pytest.fixture
def table(settings, clients, unique):
    name = f"{settings.project}.{settings.bigquery_dataset}.streamed_{unique}"
    clients.bigquery.create_table(bigquery.Table(name, schema=[
        bigquery.SchemaField("id", "STRING", mode="REQUIRED"), bigquery.SchemaField("n", "INTEGER")]))
    return name


def test_streamed_rows_are_read_at_once_by_a_query_a_table_read_and_the_table_size(clients, table):
    ids = [uuid.uuid4().hex for _ in range(3)]
    for number, row_id in enumerate(ids):  # one row per call, as the log sink sends them
        assert clients.bigquery.insert_rows_json(table, [{"id": row_id, "n": number}], row_ids=[row_id]) == []
    assert sorted(r["id"] for r in clients.bigquery.query(f"SELECT id FROM `{table}`").result()) == sorted(ids)
    assert sorted(r["id"] for r in clients.bigquery.list_rows(table)) == sorted(ids)
    assert clients.bigquery.get_table(table).num_rows == 3


def test_a_row_that_does_not_fit_is_refused_by_the_call_itself(clients, table):
    errors = clients.bigquery.insert_rows_json(table, [{"id": "a", "n": "not a number"}, {"n": 1}])
    assert {e["index"] for e in errors} == {0, 1}
    assert list(clients.bigquery.query(f"SELECT COUNT(*) AS c FROM `{table}`").result())[0]["c"] == 0


def test_the_insert_id_still_drops_a_repeated_row(clients, table):
    for _ in range(2):
        clients.bigquery.insert_rows_json(table, [{"id": "same", "n": 1}], row_ids=["insert-1"])
    assert list(clients.bigquery.query(f"SELECT COUNT(*) AS c FROM `{table}`").result())[0]["c"] == 1
