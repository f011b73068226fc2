"""What a Firestore or Pub/Sub call is billed for, read from its wire messages.

Used by the metering proxies of the cost bench (``infra/local/grpc_meter.py``):
each request and response message of a call is decoded with the services'
own protobuf types, and a call's total settled when it ends.

Firestore's billing rules, as its pricing page states them:
- a document read for each document a get returns (found or missing) and
  each document a query returns, with at least one read per query;
- a listener pays one read per document added or changed in its results
  (the emulator sends a listener's whole result again after a change: a
  document version it already sent is not read again);
- a write per document written by a successful commit (set, update, create,
  transform); a delete per document deleted. A commit that fails (a
  precondition, a contended transaction) writes nothing.

Pub/Sub bills throughput: the bytes of each publish, push or pull request,
at least 1000 bytes per request. Counted here: messages published and their
payload (data, attributes, ordering key) per publish request.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Mapping

from google.cloud.firestore_v1.types import firestore as firestore_types
from google.pubsub_v1.types import pubsub as pubsub_types

PUBSUB_MIN_REQUEST_BYTES = 1000


def _decode(message_type, payload: bytes):
    return message_type.pb().FromString(payload)


class FirestoreUsage:
    """Reads, writes and deletes, by Firestore's billing rules (see above)."""

    def __init__(self) -> None:
        self._listened: set[tuple[str, int, int]] = set()  # (document, update time) a listener got
        self._lock = threading.Lock()

    def message(self, method: str, kind: str, payload: bytes) -> Mapping[str, int]:
        name = method.rsplit("/", 1)[-1]
        if name == "Commit":
            if kind == "response":
                return {"commit_ok": 1}
            writes = _decode(firestore_types.CommitRequest, payload).writes
            deletes = sum(1 for w in writes if w.WhichOneof("operation") == "delete")
            return {"commit_writes": len(writes) - deletes, "commit_deletes": deletes}
        if name == "BatchGetDocuments" and kind == "response":
            answer = _decode(firestore_types.BatchGetDocumentsResponse, payload)
            return {"reads": 1} if answer.WhichOneof("result") else {}
        if name in ("RunQuery", "RunAggregationQuery"):
            if kind == "request":
                return {"queries": 1}
            if name == "RunQuery" and _decode(firestore_types.RunQueryResponse, payload).HasField("document"):
                return {"query_reads": 1}
            return {}
        if name == "Listen" and kind == "response":
            answer = _decode(firestore_types.ListenResponse, payload)
            if not answer.HasField("document_change"):
                return {}
            document = answer.document_change.document
            version = (document.name, document.update_time.seconds, document.update_time.nanos)
            with self._lock:
                new = version not in self._listened
                self._listened.add(version)
            return {"reads": 1, "listen_reads": 1} if new else {"listen_resent": 1}
        if name == "GetDocument" and kind == "response":
            return {"reads": 1}
        return {}

    def settle(self, method: str, counts: Counter[str]) -> Counter[str]:
        settled: Counter[str] = Counter(counts)
        if "commit_writes" in settled or "commit_deletes" in settled:
            ok = settled.pop("commit_ok", 0) > 0
            writes, deletes = settled.pop("commit_writes", 0), settled.pop("commit_deletes", 0)
            if ok:
                settled.update({"writes": writes, "deletes": deletes, "commits": 1})
            else:
                settled["failed_commits"] += 1
        if "queries" in settled:
            found = settled.pop("query_reads", 0)
            settled["reads"] += max(found, settled["queries"])  # at least one read per query
        return +settled


class PubSubUsage:
    """Messages and bytes published (and the bytes billed: 1000 at least per request)."""

    def message(self, method: str, kind: str, payload: bytes) -> Mapping[str, int]:
        if not method.endswith("/Publish") or kind != "request":
            return {}
        request = _decode(pubsub_types.PublishRequest, payload)
        payload_bytes = sum(_message_bytes(m) for m in request.messages)
        return {
            "publish_requests": 1,
            "messages": len(request.messages),
            "message_bytes": payload_bytes,
            "billed_bytes": max(PUBSUB_MIN_REQUEST_BYTES, len(payload)),
        }

    def settle(self, method: str, counts: Counter[str]) -> Counter[str]:
        return counts


def _message_bytes(message) -> int:
    """A message's size as Pub/Sub counts it: data, attribute keys and values, ordering key."""
    attributes = sum(len(k.encode()) + len(v.encode()) for k, v in message.attributes.items())
    return len(message.data) + attributes + len(message.ordering_key.encode())
