"""Fault injection: off by default, raises only at the configured points, capped per key."""

import random

import pytest

from shared import config
from shared.faults import NO_FAULTS, FaultInjector, InjectedFault, from_settings


def count_faults(injector, name, key="m1", payload="", tries=200):
    faults = 0
    for _ in range(tries):
        try:
            injector.point(name, key, payload)
        except InjectedFault:
            faults += 1
    return faults


def test_off_by_default():
    settings = config.load({})
    assert not from_settings(settings).enabled
    assert count_faults(NO_FAULTS, "scorer.before_write") == 0


def test_settings_read_the_environment():
    settings = config.load(
        {"FAULT_RATE": "0.2", "FAULT_POINTS": "scorer.before_write, log_sink.before_insert", "FAULT_LIMIT": "3"}
    )
    injector = from_settings(settings)
    assert injector.rate == 0.2 and injector.limit == 3
    assert injector.points == {"scorer.before_write", "log_sink.before_insert"}


@pytest.mark.parametrize(
    "points, name, expected",
    [
        ({"scorer.before_write"}, "scorer.before_write", 200),
        ({"scorer.before_write"}, "scorer.after_write", 0),
        ({"log_sink.before_insert"}, "log_sink.before_insert", 200),
    ],
)
def test_raises_only_at_configured_points(points, name, expected):
    assert count_faults(FaultInjector(1.0, frozenset(points)), name, key="k", tries=200) == expected


def test_rate_is_roughly_honoured():
    injector = FaultInjector(0.2, frozenset({"scorer.after_write"}), rng=random.Random(7))
    faults = sum(count_faults(injector, "scorer.after_write", key=f"m{i}", tries=1) for i in range(2000))
    assert 300 < faults < 500


def test_limit_caps_faults_per_key():
    injector = FaultInjector(1.0, frozenset({"scorer.before_write"}), limit=3)
    assert count_faults(injector, "scorer.before_write", key="a", tries=10) == 3
    assert count_faults(injector, "scorer.before_write", key="b", tries=10) == 3


def test_match_narrows_to_one_payload():
    injector = FaultInjector(1.0, frozenset({"scorer.before_write"}), match="poison-42")
    assert count_faults(injector, "scorer.before_write", payload="hello", tries=5) == 0
    assert count_faults(injector, "scorer.before_write", payload="say poison-42", tries=5) == 5


def test_unknown_point_is_refused():
    with pytest.raises(ValueError, match="unknown fault point"):
        FaultInjector(0.5, frozenset({"scorer.typo"}))
