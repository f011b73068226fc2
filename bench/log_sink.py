"""Rows per second into the local BigQuery through the log sink, against direct inserts.

Three paths, in the same run, each writing ``--count`` selection rows with
fresh message ids into ``zatsudan.selections``:

- sink: publish the selection logs to ``selection-logs`` (batched publish),
  then time until all of them are rows (polling ``COUNT(*)`` for this run's
  conversation id). This is the log sink as deployed: push -> ledger ->
  ``RowBatcher`` -> ``insertAll`` -> ack.
- direct, one row per call: ``insert_rows_json`` with one row, sequentially,
  as an unbatched sink would call it.
- direct, one call: ``insert_rows_json`` with all rows (the ceiling).

The bench launcher (``infra/local/bench_stack.py``) starts a stack of its
own (``.run/bench-<port base>``, default port base 8920) unless ``--env``
names a running one. Run it with:

    make bench-log-sink
    PYTHONPATH=. .venv/bin/python -m infra.local.bench_stack log_sink --count 300 [--env .run/stack.env] [--json]

Numbers are for comparing runs on one machine: the emulators, the functions
and this client share the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from typing import TYPE_CHECKING

from shared.events import SelectionLog
from tests.support import selection_log

if TYPE_CHECKING:
    from bench.running_stack import AttachOrStartStack


def make_logs(count: int, conversation_id: str) -> list[SelectionLog]:
    return [selection_log(conversation_id, user_id="bench") for _ in range(count)]


def count_rows(bigquery_client, table_id: str, conversation_id: str) -> int:
    sql = f"SELECT COUNT(*) AS n FROM `{table_id}` WHERE conversation_id = '{conversation_id}'"
    return next(iter(bigquery_client.query(sql).result()))["n"]


def through_sink(clients, settings, count: int, timeout: float) -> float:
    conversation_id = f"bench-sink-{uuid.uuid4().hex[:8]}"
    logs = make_logs(count, conversation_id)
    topic = clients.publisher.topic_path(settings.project, settings.topics.selection_logs)
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()  # default batching: the publish side is not what we measure
    started = time.perf_counter()
    futures = [publisher.publish(topic, log.to_json(), message_id=log.message_id) for log in logs]
    for future in futures:
        future.result(timeout=60)
    deadline = started + timeout
    while (written := count_rows(clients.bigquery, settings.selections_table_id, conversation_id)) < count:
        if time.perf_counter() > deadline:
            raise SystemExit(f"sink: only {written}/{count} rows after {timeout:.0f}s")
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    if written != count:
        raise SystemExit(f"sink: {written} rows for {count} logs")
    return count / elapsed


def direct(clients, settings, count: int, per_call: int) -> float:
    conversation_id = f"bench-direct-{uuid.uuid4().hex[:8]}"
    rows = [(log.to_row(), log.message_id) for log in make_logs(count, conversation_id)]
    started = time.perf_counter()
    for start in range(0, count, per_call):
        chunk = rows[start : start + per_call]
        errors = clients.bigquery.insert_rows_json(
            settings.selections_table_id, [r for r, _ in chunk], row_ids=[i for _, i in chunk]
        )
        if errors:
            raise SystemExit(f"direct insert failed: {errors[:1]}")
    elapsed = time.perf_counter() - started
    assert count_rows(clients.bigquery, settings.selections_table_id, conversation_id) == count
    return count / elapsed


def main(argv: list[str] | None, stack_for: AttachOrStartStack) -> int:
    """Runs on the stack ``stack_for`` attaches or starts (the bench launcher's)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--env", help="stack.env of a running stack (default: start one)")
    parser.add_argument("--port-base", type=int, default=int(os.environ.get("BENCH_PORT_BASE", 8920)))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with stack_for(args.env, args.port_base):
        from shared import config
        from shared.clients import Clients

        settings = config.load()
        clients = Clients(settings)
        direct(clients, settings, 5, 5)  # warm up the client and the table
        results = {
            "count": args.count,
            "sink_rows_per_s": through_sink(clients, settings, args.count, args.timeout),
            "direct_one_row_per_call_rows_per_s": direct(clients, settings, args.count, 1),
            "direct_one_call_rows_per_s": direct(clients, settings, args.count, args.count),
        }
        results["sink_vs_one_row_per_call"] = results["sink_rows_per_s"] / results["direct_one_row_per_call_rows_per_s"]
    if args.json:
        print(json.dumps(results))
    else:
        print(f"rows into local BigQuery, {args.count} each:")
        print(f"  through the log sink        {results['sink_rows_per_s']:8.1f} rows/s")
        print(f"  direct, one row per call    {results['direct_one_row_per_call_rows_per_s']:8.1f} rows/s")
        print(f"  direct, one call            {results['direct_one_call_rows_per_s']:8.1f} rows/s")
        print(f"  sink / one row per call     {results['sink_vs_one_row_per_call']:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit("needs a local stack: run it through the bench launcher (make bench-log-sink)")
