"""Firestore operations as billed (documents read, written, deleted), counted
at the client: every RPC of a ``firestore.Client`` goes through its GAPIC
client, which :func:`counting` wraps.

A get of a missing document is a read; a query is a read per document it
returns, and one when it returns none; a commit is a write per document it
writes (a delete per document it deletes). Gets are also counted by
collection (``"read conversations"``), so a failed budget says what grew.
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager


class _CountingApi:
    def __init__(self, api, counts: Counter) -> None:
        self._api = api
        self._counts = counts

    def __getattr__(self, name):
        return getattr(self._api, name)

    def batch_get_documents(self, *args, **kwargs):
        for response in self._api.batch_get_documents(*args, **kwargs):
            kind = response._pb.WhichOneof("result")
            if kind:  # found or missing: a document read
                self._counts["reads"] += 1
                name = response.found.name if kind == "found" else response.missing
                self._counts[f"read {name.split('/documents/', 1)[-1].split('/', 1)[0]}"] += 1
            yield response

    def run_query(self, *args, **kwargs):
        documents = 0
        for response in self._api.run_query(*args, **kwargs):
            documents += bool(response._pb.HasField("document"))
            yield response
        self._counts["reads"] += max(documents, 1)

    def commit(self, *args, **kwargs):
        request = kwargs.get("request") or args[0]
        writes = request["writes"] if isinstance(request, dict) else request.writes
        for write in writes:
            deleted = getattr(write, "_pb", write).HasField("delete")  # proto-plus or raw protobuf
            self._counts["deletes" if deleted else "writes"] += 1
        return self._api.commit(*args, **kwargs)


@contextmanager
def counting(client):
    """``with counting(firestore_client) as counts:`` counts its operations into ``counts``."""
    counts: Counter = Counter()
    api = client._firestore_api  # made on first use; kept in _firestore_api_internal
    client._firestore_api_internal = _CountingApi(api, counts)
    try:
        yield counts
    finally:
        client._firestore_api_internal = api
