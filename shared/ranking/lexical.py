"""Lexical baselines: TF-IDF cosine and Okapi BM25.

Both compare the conversation's weighted terms (``text.weighted_terms``) with
each candidate's document: the post it answered plus the reply itself.
Document frequencies come from the candidate pool being ranked, which is the
keyword's own small corpus. A reply that shares the topic of the utterance
outranks one that only shares filler.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

from shared import text
from shared.ranking import Candidate, Context, Scored, sort_scored


def _document_terms(candidate: Candidate, lang: str) -> Counter[str]:
    if candidate.terms:  # analysed when the corpus was built
        return Counter(candidate.terms.split(" "))
    return Counter(text.terms(candidate.context, lang)) + Counter(text.terms(candidate.text, lang))


def _document_frequencies(documents: Sequence[Counter[str]]) -> Counter[str]:
    df: Counter[str] = Counter()
    for document in documents:
        df.update(document.keys())
    return df


class TfidfRanker:
    """Cosine similarity of sublinear TF-IDF vectors (smoothed idf, as sklearn)."""

    name = "tfidf"

    def rank(self, context: Context, candidates: Sequence[Candidate]) -> list[Scored]:
        documents = [_document_terms(c, context.lang) for c in candidates]
        df = _document_frequencies(documents)
        n = len(documents)

        def idf(term: str) -> float:
            return math.log((1 + n) / (1 + df[term])) + 1.0

        def unit(weights: dict[str, float]) -> dict[str, float]:
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            return {t: w / norm for t, w in weights.items()}

        # The query keeps its turn-decayed weights as they are (an earlier
        # turn counts TURN_DECAY times less); documents get sublinear tf.
        query = unit({t: w * idf(t) for t, w in text.weighted_terms(context.turns, context.lang).items()})
        scores = []
        for document in documents:
            doc_vector = unit({t: (1.0 + math.log(c)) * idf(t) for t, c in document.items()})
            scores.append(sum(w * doc_vector.get(t, 0.0) for t, w in query.items()))
        return sort_scored(candidates, scores)


class Bm25Ranker:
    """Okapi BM25 with the usual k1 and b; query terms weighted by recency."""

    name = "bm25"

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b

    def rank(self, context: Context, candidates: Sequence[Candidate]) -> list[Scored]:
        documents = [_document_terms(c, context.lang) for c in candidates]
        df = _document_frequencies(documents)
        n = len(documents)
        lengths = [sum(d.values()) for d in documents]
        average_length = (sum(lengths) / n) if n else 0.0
        query = text.weighted_terms(context.turns, context.lang)
        scores = []
        for document, length in zip(documents, lengths):
            norm = self.k1 * (1 - self.b + self.b * length / (average_length or 1.0))
            score = 0.0
            for term, weight in query.items():
                tf = document.get(term, 0)
                if tf:
                    idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                    score += weight * idf * tf * (self.k1 + 1) / (tf + norm)
            scores.append(score)
        return sort_scored(candidates, scores)


RANKERS = {"tfidf": TfidfRanker, "bm25": Bm25Ranker}
