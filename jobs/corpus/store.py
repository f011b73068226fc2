"""Firestore side of the pipeline: candidate documents and run progress.

- ``candidates/{keyword_doc_id(keyword)}``: the format the scorer's
  ``shared.stores.CandidateStore.load`` reads (``keyword``, ``lang``,
  ``candidates_json``: ``[{text, context, source, terms}]`` as one JSON string, ``updated_at``), plus
  ``content_hash``. A document is written only when its hash differs from the
  stored one, so a redelivered shard or a re-run writes nothing. No
  transactions: each keyword belongs to exactly one shard, so no two workers
  ever write the same document (the emulator serialises contended
  transactions badly, and production would pay for them too).
- ``corpus_runs/{run_id}/shards/{shard}``: written after a shard's documents,
  so the coordinator can count finished shards and rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable, Iterable

from jobs.corpus.candidates import KeywordCandidates
from shared.stores import CANDIDATES_FIELD, QUERY_RETRY, encode_candidates
from shared.text import keyword_doc_id

CANDIDATES_COLLECTION = "candidates"
RUNS_COLLECTION = "corpus_runs"
WRITE_BATCH_SIZE = 400  # under Firestore's 500 writes per batch
READ_CHUNK = 300


class CandidateWriter:
    def __init__(self, db, collection: str = CANDIDATES_COLLECTION, batch_size: int = WRITE_BATCH_SIZE) -> None:
        self._db = db
        self._collection = db.collection(collection)
        self._batch_size = batch_size

    def write(self, docs: Iterable[KeywordCandidates], after_batch: Callable[[int], None] | None = None) -> int:
        """Writes the documents whose content changed; returns how many.
        ``after_batch(written so far)`` runs after each committed batch."""
        docs = list(docs)
        stored = self._stored_hashes([d.keyword for d in docs])
        changed = [d for d in docs if stored.get(keyword_doc_id(d.keyword)) != d.content_hash]
        now = dt.datetime.now(dt.timezone.utc)
        written = 0
        for start in range(0, len(changed), self._batch_size):
            batch = self._db.batch()
            for doc in changed[start : start + self._batch_size]:
                batch.set(
                    self._collection.document(keyword_doc_id(doc.keyword)),
                    {
                        "keyword": doc.keyword,
                        "lang": doc.lang,
                        CANDIDATES_FIELD: encode_candidates(doc.candidates),
                        "content_hash": doc.content_hash,
                        "updated_at": now,
                    },
                )
            batch.commit()
            written += len(changed[start : start + self._batch_size])
            if after_batch:
                after_batch(written)
        return written

    def _stored_hashes(self, keywords: list[str]) -> dict[str, str | None]:
        hashes: dict[str, str | None] = {}
        for start in range(0, len(keywords), READ_CHUNK):
            refs = [self._collection.document(keyword_doc_id(k)) for k in keywords[start : start + READ_CHUNK]]
            for snapshot in self._db.get_all(refs, field_paths=["content_hash"]):
                if snapshot.exists:
                    hashes[snapshot.id] = (snapshot.to_dict() or {}).get("content_hash")
        return hashes


class RunProgress:
    """Which shards of a run are done, with their counts."""

    def __init__(self, db, run_id: str) -> None:
        self._shards = db.collection(RUNS_COLLECTION).document(run_id).collection("shards")

    def mark_done(
        self, shard: int, rows: int, keywords: dict[str, int], candidates: int, written: int, worker: str,
        seconds: dict[str, float] | None = None,
    ) -> None:
        """``keywords``: how many per language; ``seconds``: the worker's time per step (build, write)."""
        self._shards.document(f"{shard:05d}").set(
            {
                "shard": shard,
                "rows": rows,
                "keywords": dict(keywords),
                "candidates": candidates,
                "written": written,
                "worker": worker,
                "seconds": dict(seconds or {}),
                "finished_at": dt.datetime.now(dt.timezone.utc),
            }
        )

    def count(self) -> int:
        """Shards done: a count aggregation (one read per 1,000 markers), not the markers."""
        return int(self._shards.count().get()[0][0].value)

    def done(self) -> list[dict]:
        return [snapshot.to_dict() for snapshot in self._shards.stream(retry=QUERY_RETRY)]
