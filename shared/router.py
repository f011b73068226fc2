"""The router: which algorithm answers an utterance, and with what probability.

Ingress decides once and puts the choice and its propensity into the event,
so the scorer never re-decides and the selection log can evaluate the router
offline (inverse propensity weighting needs the probability of the choice).
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass
from typing import Iterable, Protocol


class RouterConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Choice:
    algorithm: str
    propensity: float


class Router(Protocol):
    """What ingress needs: ``WeightedRouter`` here, ``shared.bandit.ThompsonRouter``."""

    def choose(self) -> Choice: ...


def parse_weights(spec: str) -> dict[str, float]:
    """``"tfidf:0.5,bm25:0.5"`` -> ``{"tfidf": 0.5, "bm25": 0.5}``, normalised."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = part.partition(":")
        name = name.strip()
        try:
            weight = float(value) if sep else 1.0
        except ValueError:
            raise RouterConfigError(f"bad weight in {part!r}") from None
        if not name or not math.isfinite(weight) or weight < 0:
            raise RouterConfigError(f"bad weight in {part!r}")
        if name in weights:
            raise RouterConfigError(f"{name} appears twice")
        weights[name] = weight
    total = sum(weights.values())
    if not total > 0 or not math.isfinite(total):
        raise RouterConfigError(f"weights in {spec!r} must add up to a finite positive number")
    return {name: w / total for name, w in weights.items()}


class WeightedRouter:
    """Chooses by fixed weights. Seeded, it repeats its sequence (for tests)."""

    def __init__(self, weights: dict[str, float], seed: int | None = None) -> None:
        # A zero weight names an algorithm (checked) that is never chosen.
        self.weights = {name: w for name, w in weights.items() if w > 0}
        self._names = sorted(self.weights)
        self._cumulative = []
        running = 0.0
        for name in self._names:
            running += self.weights[name]
            self._cumulative.append(running)
        self._random = random.Random(seed)
        self._lock = threading.Lock()  # Random is shared by request threads

    @classmethod
    def from_spec(cls, spec: str, seed: int | None = None, known: Iterable[str] | None = None):
        weights = parse_weights(spec)
        if known is not None:
            unknown = sorted(set(weights) - set(known))
            if unknown:
                raise RouterConfigError(f"unknown algorithm(s): {', '.join(unknown)}")
        return cls(weights, seed)

    def choose(self) -> Choice:
        with self._lock:
            draw = self._random.random() * self._cumulative[-1]
        for name, edge in zip(self._names, self._cumulative):
            if draw < edge:
                return Choice(name, self.weights[name])
        name = self._names[-1]
        return Choice(name, self.weights[name])


class ModelGatedRouter:
    """Algorithms that need a published model get traffic only once one is.

    ``with_model`` routes over every configured algorithm; ``without_model``
    over those that need no model (in their own proportions, and the logged
    propensity is that router's), until ``published()`` says a model is
    there. A fresh deployment answers from the start, and the model takes
    over, by the configured weights or the bandit, as soon as training
    publishes one."""

    def __init__(self, with_model: Router, without_model: Router, published) -> None:
        self._with_model = with_model
        self._without_model = without_model
        self._published = published

    def choose(self) -> Choice:
        return (self._with_model if self._published() else self._without_model).choose()


def without(weights: dict[str, float], names: Iterable[str]) -> dict[str, float]:
    """``weights`` less ``names``, normalised again (empty if nothing is left)."""
    rest = {name: w for name, w in weights.items() if name not in set(names)}
    total = sum(rest.values())
    return {name: w / total for name, w in rest.items()} if total > 0 else {}


class TtlFlag:
    """A yes/no read (is a model published?) asked at most once per ``ttl_s``."""

    def __init__(self, read, ttl_s: float, clock=None) -> None:
        import time

        self._read = read
        self._ttl_s = ttl_s
        self._clock = clock or time.monotonic
        self._value: bool | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        now = self._clock()
        with self._lock:
            if self._value is None or now - self._read_at >= self._ttl_s:
                try:
                    self._value = bool(self._read())
                except Exception:  # keep the last answer (False at first): routing never fails a request
                    self._value = bool(self._value)
                self._read_at = now
            return self._value
