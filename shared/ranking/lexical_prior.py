"""A lexical prior for the dual encoder: TF-IDF cosine over hashed terms, precomputed.

The dual encoder learns what answers what, but among a hundred candidates it
can still prefer a fluent generic reply to the one that shares the
utterance's rare words; TF-IDF knows those words. A published version
carries the inverse document frequencies of its training replies (terms
hashed into ``BUCKETS``, so no vocabulary is stored) and every candidate's
unit TF-IDF row; a request then costs one analysis of the context and a
gather over the candidates' few terms, not a TF-IDF pass over 500 texts.

Terms are ``shared.text``'s, the very analysis the TF-IDF ranker uses: the
query keeps its turn-decayed weights, a reply gets sublinear tf.
"""

from __future__ import annotations

import io
import threading
import zlib
from collections import Counter
from typing import Iterable, Sequence

import cachetools
import numpy as np

from shared import text

BUCKETS = 1 << 18
# Terms kept per reply (its heaviest): chit-chat replies are short.
MAX_TERMS = 32
# Rows computed on the fly (texts not in the published table), per version.
EXTRA_CACHE_SIZE = 20000

Rows = tuple[np.ndarray, np.ndarray]  # ([n, MAX_TERMS] bucket ids, [n, MAX_TERMS] weights)


def bucket(term: str) -> int:
    # crc32, not hash(): stable across processes, as a published table needs.
    return zlib.crc32(term.encode("utf-8")) % BUCKETS


def standardised(scores: np.ndarray) -> np.ndarray:
    """Zero mean, unit spread over the candidates; all equal gives zeros."""
    spread = float(scores.std())
    return (scores - scores.mean()) / spread if spread > 0 else np.zeros_like(scores)


# Characters past which a reply is no more specific for being longer: the
# prior tells a fragment from a sentence, not a sentence from a speech (with
# 60 Japanese characters it began to pick long replies off the point).
LENGTH_CAP = {"ja": 20, "en": 40}


def length_prior(texts: Sequence[str], lang: str) -> np.ndarray:
    """The log of each text's length, capped at ``LENGTH_CAP``: how much a
    reply has room to say. Both towers and the lexical prior favour short
    replies made of the utterance's salient word (「食べ物は何がおいしいです
    か?」 -> 「食べ物でなくても」, 「早く休みたいです」 -> 「早くしないと」)."""
    cap = LENGTH_CAP.get(lang, LENGTH_CAP["en"])
    return np.log(np.fromiter((min(len(t), cap) for t in texts), dtype=np.float32, count=len(texts)) + 1.0)


def stack_rows(rows: Sequence[tuple[np.ndarray, np.ndarray]]) -> Rows:
    """Single rows (ids, weights) as one table."""
    return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])


def reply_buckets(reply: str) -> list[int]:
    """The bucket of each of the reply's terms, in order, repeats kept."""
    return [bucket(t) for t in text.terms(reply, text.detect_lang(reply))]


def combine(dense: np.ndarray, lexical: np.ndarray, weight: float) -> np.ndarray:
    """The dual encoder's scores plus ``weight`` times the prior's, each
    standardised over the candidates (cosines of the two live on different scales)."""
    if not weight:
        return dense
    return standardised(dense) + weight * standardised(lexical)


class LexicalPrior:
    def __init__(self, idf: np.ndarray) -> None:
        self.idf = np.asarray(idf, dtype=np.float32)
        # ``row`` of a text outside the published table, computed once.
        self.cached_row = cachetools.cached(cachetools.LRUCache(EXTRA_CACHE_SIZE), lock=threading.Lock())(self.row)

    @classmethod
    def fit(cls, documents: Iterable[str]) -> "LexicalPrior":
        """Smoothed idf (as sklearn's) of each term bucket over ``documents``."""
        df = np.zeros(BUCKETS, dtype=np.int64)
        n = 0
        for document in documents:
            n += 1
            df[sorted(set(reply_buckets(document)))] += 1
        return cls(np.log((1 + n) / (1 + df)) + 1.0)

    def to_bytes(self, table: Rows) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, idf=self.idf, ids=table[0], weights=table[1])
        return buffer.getvalue()

    @staticmethod
    def from_bytes(data: bytes) -> tuple["LexicalPrior", Rows]:
        arrays = np.load(io.BytesIO(data), allow_pickle=False)
        return LexicalPrior(arrays["idf"]), (arrays["ids"], arrays["weights"])

    def row(self, reply: str) -> tuple[np.ndarray, np.ndarray]:
        """The reply's unit sublinear-tf x idf vector, its heaviest ``MAX_TERMS`` terms."""
        counts = Counter(reply_buckets(reply))
        ids = np.zeros(MAX_TERMS, dtype=np.int32)
        weights = np.zeros(MAX_TERMS, dtype=np.float32)
        if not counts:
            return ids, weights
        keys = np.fromiter(counts, dtype=np.int32, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) * self.idf[keys]
        values /= float(np.sqrt((values * values).sum()))
        heaviest = np.argsort(-values, kind="stable")[:MAX_TERMS]
        ids[: len(heaviest)] = keys[heaviest]
        weights[: len(heaviest)] = values[heaviest]
        return ids, weights

    def rows(self, replies: Sequence[str]) -> Rows:
        if not replies:
            return np.zeros((0, MAX_TERMS), np.int32), np.zeros((0, MAX_TERMS), np.float32)
        return stack_rows([self.row(r) for r in replies])

    def query(self, turns: Sequence[str], lang: str) -> tuple[np.ndarray, np.ndarray]:
        """The context's unit vector as sorted bucket ids and their weights."""
        weights: Counter[int] = Counter()
        for term, weight in text.weighted_terms(turns, lang).items():
            weights[bucket(term)] += weight
        if not weights:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        ids = np.array(sorted(weights), dtype=np.int32)
        values = np.array([weights[i] for i in ids], dtype=np.float32) * self.idf[ids]
        return ids, values / float(np.sqrt((values * values).sum()))

    def scores(self, query: tuple[np.ndarray, np.ndarray], rows: Rows) -> np.ndarray:
        """Cosine of the query with each row: a gather, no loop over candidates."""
        query_ids, query_weights = query
        row_ids, row_weights = rows
        if not len(query_ids):
            return np.zeros(len(row_ids), dtype=np.float32)
        at = np.minimum(np.searchsorted(query_ids, row_ids), len(query_ids) - 1)
        matched = np.where(query_ids[at] == row_ids, query_weights[at], 0.0)
        return (matched * row_weights).sum(axis=1)
