"""Log sink methods: one selection log -> one BigQuery row, exactly once.

The message id is both the ledger key (a row already written is dropped) and
the BigQuery insert id (BigQuery's own best-effort de-duplication covers the
window between the insert and the ledger write).
"""

from __future__ import annotations

import logging

from shared.events import SchemaError, SelectionLog
from shared.stores import SinkLedger

log = logging.getLogger(__name__)


class RowRejected(SchemaError):
    """BigQuery refused the row itself: retrying cannot help."""


class LogSinkService:
    def __init__(self, bigquery_client, table_id: str, ledger: SinkLedger) -> None:
        self.bigquery = bigquery_client
        self.table_id = table_id
        self.ledger = ledger

    def handle(self, selection: SelectionLog) -> bool:
        """Inserts the row; returns False when it was a duplicate."""
        if self.ledger.seen(selection.message_id):
            log.info("duplicate selection log dropped", extra={"labels": {"message_id": selection.message_id}})
            return False
        errors = self.bigquery.insert_rows_json(
            self.table_id, [selection.to_row()], row_ids=[selection.message_id]
        )
        if errors:
            raise RowRejected(f"BigQuery rejected the row: {errors}")
        self.ledger.mark(selection.message_id)
        return True
