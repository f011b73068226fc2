"""local-bigquery, with NORMALIZE_AND_CASEFOLD computed a batch at a time.

    .venv-bigquery/bin/python infra/local/bigquery_server.py serve --port ...

local-bigquery (the local BigQuery stand-in, run on Python 3.13 from
``.venv-bigquery``) registers ``NORMALIZE`` / ``NORMALIZE_AND_CASEFOLD`` as a
DuckDB Python function called once per row, which costs about half a
millisecond a call: the corpus filter (``jobs/corpus/sql.py``), which folds
two columns of every row, spent about 1.5 ms a row on it. Registered as an
Arrow function instead (DuckDB hands it a column of up to 2,048 values at a
time), the same computation runs about 70 times faster, so the generated SQL
that production runs is unchanged and the local run of the full corpus takes
seconds, not half an hour. Every other function is registered as
local-bigquery does it.

It also counts what reaches ``insertAll`` (calls, rows, bytes per table) and
answers the count at ``GET /local/meter``, for the cost bench
(bench/cost.py): rows as BigQuery bills streaming inserts, at least 1 KB each.

Dev tooling only: production runs the real BigQuery.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter

import pyarrow as pa
from local_bigquery.catalog import tabledata
from local_bigquery.sql import native

STREAMING_MIN_ROW_BYTES = 1024  # BigQuery bills each streamed row as 1 KB at least


def normalize_batch(text: pa.Array, form: pa.Array, casefold: pa.Array) -> pa.Array:
    """``native.normalize`` over whole columns (NULL in, NULL out)."""
    return pa.array(
        [
            None if value is None else native.normalize(value, f or "NFC", bool(fold))
            for value, f, fold in zip(text.to_pylist(), form.to_pylist(), casefold.to_pylist())
        ],
        type=pa.string(),
    )


VECTORISED = {"_normalize": normalize_batch}


def register(con) -> None:
    for name, (function, parameters, returns) in native.FUNCTIONS.items():
        if name in VECTORISED:
            con.create_function(name, VECTORISED[name], parameters, returns, type="arrow")
        else:
            con.create_function(name, function, parameters, returns)


native.register = register  # local_bigquery.engine.database calls native.register(con) per connection


class InsertMeter:
    """insertAll calls, rows and bytes (JSON of each row, and as billed), by table."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def record(self, table_id: str, rows: list[dict]) -> None:
        sizes = [len(json.dumps(row, separators=(",", ":")).encode()) for row in rows]
        with self._lock:
            for key in ("", f":{table_id}"):
                self.counts.update({
                    f"calls{key}": 1,
                    f"rows{key}": len(rows),
                    f"row_bytes{key}": sum(sizes),
                    f"billed_bytes{key}": sum(max(STREAMING_MIN_ROW_BYTES, size) for size in sizes),
                })

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


METER = InsertMeter()
_insert_all = tabledata.insert_all


def metered_insert_all(project_id: str, dataset_id: str, table_id: str, body) -> dict:
    METER.record(table_id, [row.json_.model_dump() if row.json_ else {} for row in body.rows or []])
    return _insert_all(project_id, dataset_id, table_id, body)


tabledata.insert_all = metered_insert_all  # local_bigquery.api.tables calls tabledata.insert_all


def add_meter_route() -> None:
    from local_bigquery.app import app

    app.add_api_route("/local/meter", METER.snapshot, methods=["GET"], include_in_schema=False)

if __name__ == "__main__":
    from local_bigquery.cli import main

    add_meter_route()
    sys.exit(main())
