"""Thompson router: traffic follows reward, every arm keeps a floor, propensities are honest."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from shared.bandit import ArmStats, ThompsonRouter, thompson_propensities
from shared.router import RouterConfigError

FLOOR = 0.05


def simulate(true_means: dict[str, float], rounds: int = 8, per_round: int = 300, seed: int = 7) -> list[Counter]:
    """Each round: route ``per_round`` utterances, draw rewards in [-1, 1] around
    each arm's true mean, then refresh the statistics (as the job does)."""
    rng = random.Random(seed)
    stats: dict[str, ArmStats] = {}
    router = ThompsonRouter(sorted(true_means), lambda: stats, min_propensity=FLOOR, seed=seed)
    shares = []
    for _ in range(rounds):
        chosen = Counter()
        totals = {arm: [s.rated, s.successes] for arm, s in stats.items()}
        for _ in range(per_round):
            choice = router.choose()
            chosen[choice.algorithm] += 1
            reward = 1.0 if rng.random() < (true_means[choice.algorithm] + 1) / 2 else -1.0
            rated, successes = totals.setdefault(choice.algorithm, [0, 0.0])
            totals[choice.algorithm] = [rated + 1, successes + (reward + 1) / 2]
        stats = {arm: ArmStats(int(r), s) for arm, (r, s) in totals.items()}
        shares.append(chosen)
    return shares


def test_most_traffic_moves_to_the_clearly_better_arm():
    shares = simulate({"bm25": 0.6, "tfidf": -0.2})
    first, last = shares[0], shares[-1]
    assert first["bm25"] / sum(first.values()) < 0.7  # starts near even
    assert last["bm25"] / sum(last.values()) > 0.85


def test_the_simulation_is_deterministic():
    assert simulate({"bm25": 0.6, "tfidf": -0.2}) == simulate({"bm25": 0.6, "tfidf": -0.2})


def test_the_worse_arm_keeps_its_exploration_floor():
    stats = {"bm25": ArmStats(10_000, 9_000.0), "tfidf": ArmStats(10_000, 1_000.0), "neural": ArmStats(5, 0.0)}
    propensities = thompson_propensities(sorted(stats), stats, FLOOR)
    assert min(propensities.values()) >= FLOOR
    assert sum(propensities.values()) == pytest.approx(1.0)
    assert max(propensities, key=propensities.get) == "bm25"


def test_without_statistics_the_arms_are_even():
    propensities = thompson_propensities(["a", "b"], {}, FLOOR)
    assert propensities["a"] == pytest.approx(0.5, abs=0.03)


def test_the_logged_propensity_is_the_frequency_of_the_choice():
    stats = {"bm25": ArmStats(40, 30.0), "tfidf": ArmStats(40, 20.0)}
    router = ThompsonRouter(["bm25", "tfidf"], lambda: stats, min_propensity=FLOOR, seed=3)
    choices = [router.choose() for _ in range(4000)]
    counts = Counter(c.algorithm for c in choices)
    for choice in choices[:50]:
        assert counts[choice.algorithm] / len(choices) == pytest.approx(choice.propensity, abs=0.03)


def test_an_impossible_floor_is_rejected():
    with pytest.raises(RouterConfigError):
        ThompsonRouter(["a", "b", "c"], dict, min_propensity=0.4)
