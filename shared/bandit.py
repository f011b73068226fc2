"""A Thompson-sampling router: traffic follows the reward each algorithm earns.

Each arm (algorithm) has a Beta posterior on its reward mapped from [-1, 1]
to [0, 1]: ``Beta(1 + successes, 1 + rated - successes)``. Thompson sampling
chooses an arm with the probability that it is the best one. That probability
is estimated once per statistics snapshot by Monte Carlo (a fixed number of
seeded draws), then mixed with a uniform floor so that every arm keeps at
least ``min_propensity`` of the traffic (and keeps being measured). The router
then samples from exactly that distribution, so the propensity it logs is the
true probability of its choice (what inverse propensity weighting needs).

The statistics come from the Firestore document ``router/stats``, written by
``jobs/refresh_router_stats.py`` from BigQuery; ingress reads it through a
TTL cache (``shared.stores.RouterStatsStore``), never BigQuery per request.
This module is the algorithm alone: it reads no store.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from shared.router import Choice, RouterConfigError

log = logging.getLogger(__name__)

MONTE_CARLO_DRAWS = 4000


@dataclass(frozen=True)
class ArmStats:
    rated: int = 0
    successes: float = 0.0  # sum of rewards mapped to [0, 1]

    @property
    def alpha(self) -> float:
        return 1.0 + self.successes

    @property
    def beta(self) -> float:
        return 1.0 + max(self.rated - self.successes, 0.0)


def thompson_propensities(
    arms: Sequence[str], stats: Mapping[str, ArmStats], min_propensity: float, draws: int = MONTE_CARLO_DRAWS, seed: int = 0
) -> dict[str, float]:
    """P(arm is chosen): P(arm has the best posterior draw), floored, summing to 1."""
    rng = random.Random(seed)
    wins = dict.fromkeys(arms, 0)
    posteriors = [(arm, stats.get(arm, ArmStats())) for arm in arms]
    for _ in range(draws):
        best = max(posteriors, key=lambda item: rng.betavariate(item[1].alpha, item[1].beta))
        wins[best[0]] += 1
    explore = min_propensity * len(arms)
    return {arm: min_propensity + (1.0 - explore) * wins[arm] / draws for arm in arms}


class ThompsonRouter:
    """Same interface as ``WeightedRouter``: ``choose() -> Choice(algorithm, propensity)``."""

    def __init__(
        self,
        arms: Sequence[str],
        stats: Callable[[], Mapping[str, ArmStats]],
        min_propensity: float = 0.05,
        seed: int | None = None,
        draws: int = MONTE_CARLO_DRAWS,
    ) -> None:
        if not arms:
            raise RouterConfigError("the Thompson router needs at least one algorithm")
        if not 0.0 <= min_propensity * len(arms) <= 1.0:
            raise RouterConfigError(f"min propensity {min_propensity} is impossible with {len(arms)} arms")
        self.arms = sorted(arms)
        self.stats = stats
        self.min_propensity = min_propensity
        self.draws = draws
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._cached: tuple[tuple, dict[str, float]] | None = None

    def propensities(self) -> dict[str, float]:
        snapshot = self.stats()
        key = tuple((arm, snapshot.get(arm, ArmStats())) for arm in self.arms)
        cached = self._cached
        if cached is None or cached[0] != key:
            # Recomputed only when the statistics change (a refresh), not per request.
            cached = (key, thompson_propensities(self.arms, snapshot, self.min_propensity, self.draws))
            self._cached = cached
            log.info("router propensities %s", {arm: round(p, 4) for arm, p in cached[1].items()})
        return cached[1]

    def choose(self) -> Choice:
        weights = self.propensities()
        with self._lock:
            draw = self._random.random()
        running = 0.0
        for arm in self.arms:
            running += weights[arm]
            if draw < running:
                return Choice(arm, weights[arm])
        return Choice(self.arms[-1], weights[self.arms[-1]])
