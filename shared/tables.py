"""BigQuery tables and views the system uses, as data.

The local stack creates exactly these; Terraform declares the same (checked
by infra/check_terraform.py). Schemas: shared/schemas/<table>.json.
"""

from __future__ import annotations

BIGQUERY_TABLES = {
    # table -> (partition column, clustering columns)
    "selections": ("received_at", ["algorithm"]),
    "feedback": ("given_at", ["message_id"]),
    "posts": ("created_at", ["keyword", "lang"]),  # raw corpus (jobs/corpus)
}

# De-duplicating views over the tables (shared/sql/<view>.sql, `{dataset}` is
# filled in): reports read these, so a row BigQuery's best-effort insert-id
# de-duplication let through twice is counted once.
BIGQUERY_VIEWS = ["selections_dedup", "feedback_dedup"]
