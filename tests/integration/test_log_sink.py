"""The log sink against local BigQuery (local-bigquery) and the Pub/Sub emulator."""

from __future__ import annotations

import json

import pytest

from shared.log_sink import LogSinkService, RowRejected
from tests.support import eventually, query_rows, selection_log


@pytest.fixture
def sink(settings, clients):
    return LogSinkService(clients.bigquery, settings.selections_table_id)


def rows_for(clients, settings, message_id: str) -> list[dict]:
    return query_rows(
        clients.bigquery,
        f"SELECT * FROM `{settings.selections_table_id}` WHERE message_id = '{message_id}'",
    )


def test_a_log_becomes_one_row_with_every_field(sink, clients, settings):
    log = selection_log()
    sink.handle(log)
    (row,) = rows_for(clients, settings, log.message_id)
    assert row["keywords"] == ["猫"]
    assert row["candidates"][0] == {"text": "猫はかわいい", "score": 1.5}
    assert (row["algorithm"], row["propensity"], row["fallback"]) == ("bm25", 0.5, False)


def test_a_duplicate_message_id_is_dropped_by_its_insert_id(sink, clients, settings):
    """A redelivery (or a replayed decision's log) inserts the same row under
    the same insert id: BigQuery keeps one."""
    log = selection_log()
    sink.handle(log)
    sink.handle(log)
    assert len(rows_for(clients, settings, log.message_id)) == 1


def test_a_row_bigquery_rejects_raises_row_rejected(settings, clients, unique):
    """A table that drifted from the event schema: BigQuery names the bad
    fields, and the sink raises RowRejected (dead-lettered by the push
    handler, never retried)."""
    from google.cloud import bigquery

    narrow = f"{settings.project}.{settings.bigquery_dataset}.drifted_{unique}"
    clients.bigquery.create_table(bigquery.Table(narrow, schema=[bigquery.SchemaField("message_id", "STRING")]))
    sink = LogSinkService(clients.bigquery, narrow)
    with pytest.raises(RowRejected, match="no such field"):
        sink.handle(selection_log())


def publish(clients, settings, data: bytes) -> None:
    topic = clients.publisher.topic_path(settings.project, settings.topics.selection_logs)
    clients.publisher.publish(topic, data, message_id="m").result()


def test_pushed_log_lands_in_bigquery_once_even_when_published_twice(clients, settings):
    log = selection_log()
    publish(clients, settings, log.to_json())
    publish(clients, settings, log.to_json())
    assert eventually(lambda: rows_for(clients, settings, log.message_id), timeout=20)
    # Give the second delivery time to be processed, then count again.
    eventually(lambda: False, timeout=3)
    assert len(rows_for(clients, settings, log.message_id)) == 1


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"{oops", "not JSON"),
        (json.dumps({**selection_log().to_dict(), "propensity": "high"}).encode(), "wrong type"),
        (json.dumps({**selection_log().to_dict(), "received_at": "yesterday-ish"}).encode(), "timestamp"),
    ],
    ids=["not-json", "schema", "timestamp"],
)
def test_malformed_log_is_dead_lettered_with_its_reason(clients, settings, pull, payload, reason):
    dead = pull("selection-logs-dead")
    publish(clients, settings, payload)
    (message,) = dead.read(expect=1, timeout=20)
    assert message.data == payload
    assert reason in message.attributes["dead_letter_reason"]
    assert message.attributes["dead_letter_source"] == "log_sink"
