"""BigQuery table schemas as JSON, one file per table.

The same files are read by the local stack, by the log sink and by Terraform
(``file("../../shared/schemas/selections.json")``), so there is one definition.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load(table: str) -> list[dict[str, Any]]:
    return json.loads(resources.files(__package__).joinpath(f"{table}.json").read_text())


def bigquery_schema(table: str):
    """The schema as ``google.cloud.bigquery.SchemaField`` objects."""
    from google.cloud import bigquery  # imported here: only table creation needs it

    return [bigquery.SchemaField.from_api_repr(field) for field in load(table)]
