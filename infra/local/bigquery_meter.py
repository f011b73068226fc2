"""What reaches local-bigquery's ``insertAll``: calls, rows and bytes per table.

Answered at ``GET /local/meter`` for the cost bench (bench/cost.py), with
rows sized as BigQuery bills streaming inserts (the row's JSON, at least
1 KB) and the number of batched writes the streaming buffer made
(``bigquery_streaming``). Dev tooling only.
"""

from __future__ import annotations

import json
import threading
from collections import Counter

from local_bigquery.catalog import tabledata

STREAMING_MIN_ROW_BYTES = 1024  # BigQuery bills each streamed row as 1 KB at least


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


def install(app, buffer=None) -> InsertMeter:
    """Counts every ``insertAll`` (REST and Storage Write), answers at ``/local/meter``."""
    meter, insert_all = InsertMeter(), tabledata.insert_all

    def metered_insert_all(project_id: str, dataset_id: str, table_id: str, body) -> dict:
        meter.record(table_id, [row.json_.model_dump() if row.json_ else {} for row in body.rows or []])
        return insert_all(project_id, dataset_id, table_id, body)

    def snapshot() -> dict[str, int]:
        return {**meter.snapshot(), **({"writes": buffer.flushes} if buffer is not None else {})}

    tabledata.insert_all = metered_insert_all  # local_bigquery.api.tables and grpc.write call it from there
    app.add_api_route("/local/meter", snapshot, methods=["GET"], include_in_schema=False)
    return meter

