"""Ranking: one seam every algorithm plugs into.

``Ranker.rank(context, candidates)`` returns the candidates scored and sorted
best first. Implementations are interchangeable and named; the router picks a
name, the scorer looks it up in ``RANKERS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence


@dataclass(frozen=True)
class Candidate:
    """A stored reply: ``text`` answered ``context`` somewhere in the corpus."""

    text: str
    context: str = ""
    source: str = ""
    # The terms of context and reply (``shared.text.terms``), space-separated,
    # computed when the corpus is built: ranking then tokenises no candidate.
    terms: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> "Candidate":
        return cls(text=data["text"], context=data.get("context", ""), source=data.get("source", ""), terms=data.get("terms", ""))

    def to_dict(self) -> dict:
        data = {"text": self.text, "context": self.context, "source": self.source}
        return {**data, "terms": self.terms} if self.terms else data


@dataclass(frozen=True)
class Context:
    """The conversation so far, oldest turn first; the last turn is answered."""

    turns: tuple[str, ...]
    lang: str


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    score: float


class Ranker(Protocol):
    name: str

    def rank(self, context: Context, candidates: Sequence[Candidate]) -> list[Scored]: ...


def sort_scored(candidates: Sequence[Candidate], scores: Sequence[float]) -> list[Scored]:
    """Best first; ties keep candidate order, so ranking is deterministic."""
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    return [Scored(candidates[i], float(scores[i])) for i in order]


def _lexical(name: str) -> Callable[[], Ranker]:
    def build() -> Ranker:
        from shared.ranking import lexical

        return lexical.RANKERS[name]()

    return build


class UnwiredRanker(RuntimeError):
    """A ranker that serves the published model was asked to rank where none was wired in."""


class _Unwired:
    """Stands in for a ranker that needs the published model, outside the
    composition root: it can be chosen (a move may answer without ranking),
    but ranking with it fails."""

    def __init__(self, name: str) -> None:
        self.name = name

    def rank(self, context: Context, candidates: Sequence[Candidate]) -> list[Scored]:
        raise UnwiredRanker(
            f"{self.name} serves the published model: the composition root (shared/app.py) builds it with its model pointer"
        )


def _serves_published_model(name: str) -> Callable[[], Ranker]:
    return lambda: _Unwired(name)


# name -> factory. Factories import lazily so a heavy ranker costs nothing
# until it is chosen. The dual encoder is named here (ingress routes to it)
# but built only by the composition root, which owns the clients that read
# the model pointer (``shared.app.serving_rankers``).
RANKERS: dict[str, Callable[[], Ranker]] = {
    "tfidf": _lexical("tfidf"),
    "bm25": _lexical("bm25"),
    "dual_encoder": _serves_published_model("dual_encoder"),
}


class UnknownAlgorithm(KeyError):
    pass


class RankerRegistry:
    """Builds each ranker once per process, on first use."""

    def __init__(self, factories: dict[str, Callable[[], Ranker]] | None = None) -> None:
        self._factories = RANKERS if factories is None else factories
        self._built: dict[str, Ranker] = {}

    def names(self) -> list[str]:
        return sorted(self._factories)

    def get(self, name: str) -> Ranker:
        if name not in self._built:
            if name not in self._factories:
                raise UnknownAlgorithm(name)
            self._built[name] = self._factories[name]()
        return self._built[name]
