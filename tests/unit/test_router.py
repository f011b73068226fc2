"""Router: weights parse and normalise; choices follow the weights; a seed repeats."""

from __future__ import annotations

from collections import Counter

import pytest

from shared.router import Choice, RouterConfigError, WeightedRouter, parse_weights


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("tfidf:0.5,bm25:0.5", {"tfidf": 0.5, "bm25": 0.5}),
        ("tfidf:1,bm25:3", {"tfidf": 0.25, "bm25": 0.75}),
        ("tfidf:2", {"tfidf": 1.0}),
        ("tfidf", {"tfidf": 1.0}),
        ("tfidf,bm25", {"tfidf": 0.5, "bm25": 0.5}),
        (" tfidf : 1 , bm25 : 1 ", {"tfidf": 0.5, "bm25": 0.5}),
        ("tfidf:1,,bm25:1,", {"tfidf": 0.5, "bm25": 0.5}),
        ("tfidf:1,bm25:0", {"tfidf": 1.0, "bm25": 0.0}),
        ("tfidf:1e-3,bm25:3e-3", {"tfidf": 0.25, "bm25": 0.75}),
    ],
)
def test_parse_weights_normalises_to_one(spec, expected):
    weights = parse_weights(spec)
    assert weights == pytest.approx(expected)
    assert sum(weights.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        " , ,",
        "tfidf:-1,bm25:1",
        "tfidf:1,tfidf:2",
        "tfidf:lots",
        "tfidf:",
        ":1",
        "tfidf:0,bm25:0",
        "tfidf:nan,bm25:1",
    ],
    ids=["empty", "only-commas", "negative", "duplicate", "non-number", "empty-number", "no-name", "all-zero", "nan"],
)
def test_bad_weight_specs_are_router_config_errors(spec):
    with pytest.raises(RouterConfigError):
        parse_weights(spec)


@pytest.mark.parametrize("spec", ["tfidf:inf,bm25:1", "tfidf:1e308,bm25:1e308"], ids=["inf", "overflow"])
def test_weights_must_be_finite_and_normalise_to_valid_propensities(spec):
    try:
        weights = parse_weights(spec)
    except RouterConfigError:
        return
    assert all(0.0 < w <= 1.0 for w in weights.values()), weights


def test_router_config_error_is_a_value_error():
    assert issubclass(RouterConfigError, ValueError)


def test_from_spec_rejects_an_algorithm_not_in_known():
    with pytest.raises(RouterConfigError, match="word2vec"):
        WeightedRouter.from_spec("tfidf:1,word2vec:1", known=["tfidf", "bm25"])


def test_from_spec_accepts_known_algorithms_and_needs_no_known_list():
    assert WeightedRouter.from_spec("tfidf:1,bm25:1", known=["tfidf", "bm25"]).weights == {"tfidf": 0.5, "bm25": 0.5}
    assert WeightedRouter.from_spec("anything:1").weights == {"anything": 1.0}


def test_same_seed_gives_the_same_sequence_of_choices():
    first = WeightedRouter.from_spec("tfidf:0.3,bm25:0.7", seed=7)
    second = WeightedRouter.from_spec("tfidf:0.3,bm25:0.7", seed=7)
    assert [first.choose() for _ in range(200)] == [second.choose() for _ in range(200)]


def test_different_seeds_give_different_sequences():
    a = WeightedRouter.from_spec("tfidf:0.5,bm25:0.5", seed=1)
    b = WeightedRouter.from_spec("tfidf:0.5,bm25:0.5", seed=2)
    assert [a.choose().algorithm for _ in range(100)] != [b.choose().algorithm for _ in range(100)]


@pytest.mark.parametrize("spec", ["tfidf:0.5,bm25:0.5", "tfidf:1,bm25:3", "tfidf:9,bm25:1"])
def test_propensity_is_the_normalised_weight_of_the_chosen_algorithm(spec):
    router = WeightedRouter.from_spec(spec, seed=3)
    weights = parse_weights(spec)
    for _ in range(200):
        choice = router.choose()
        assert isinstance(choice, Choice)
        assert choice.propensity == weights[choice.algorithm]
        assert 0.0 < choice.propensity <= 1.0


@pytest.mark.parametrize("spec, seed", [("tfidf:0.5,bm25:0.5", 11), ("tfidf:0.2,bm25:0.8", 12), ("a:1,b:2,c:7", 13)])
def test_shares_over_many_seeded_draws_approach_the_weights(spec, seed):
    router = WeightedRouter.from_spec(spec, seed=seed)
    draws = 4000
    counts = Counter(router.choose().algorithm for _ in range(draws))
    for name, weight in parse_weights(spec).items():
        assert counts[name] / draws == pytest.approx(weight, abs=0.05)


def test_a_zero_weight_is_never_chosen():
    router = WeightedRouter.from_spec("tfidf:0,bm25:1", seed=5)
    assert {router.choose().algorithm for _ in range(2000)} == {"bm25"}


def test_a_zero_weight_given_directly_to_the_router_is_never_chosen():
    router = WeightedRouter({"a": 0.0, "b": 1.0, "c": 0.0}, seed=6)
    assert {router.choose().algorithm for _ in range(2000)} == {"b"}


def test_a_single_algorithm_is_always_chosen_with_propensity_one():
    router = WeightedRouter.from_spec("bm25", seed=None)
    assert {router.choose() for _ in range(50)} == {Choice("bm25", 1.0)}


def test_a_model_algorithm_gets_traffic_only_once_a_model_is_published():
    from shared.router import ModelGatedRouter

    from shared.router import without

    published = [False]
    weights = WeightedRouter.from_spec("dual_encoder:0.8,tfidf:0.1,bm25:0.1").weights
    assert without(weights, {"dual_encoder"}) == {"tfidf": 0.5, "bm25": 0.5}
    router = ModelGatedRouter(
        WeightedRouter(weights, seed=3), WeightedRouter(without(weights, {"dual_encoder"}), seed=3), lambda: published[0]
    )
    before = [router.choose() for _ in range(200)]
    assert {c.algorithm for c in before} == {"tfidf", "bm25"}
    assert {c.propensity for c in before} == {0.5}  # the logged share is the real one
    published[0] = True
    after = [router.choose() for _ in range(400)]
    share = sum(c.algorithm == "dual_encoder" for c in after) / len(after)
    assert 0.7 < share < 0.9 and {c.propensity for c in after if c.algorithm == "dual_encoder"} == {0.8}


def test_a_published_flag_is_read_once_per_ttl_and_a_failed_read_keeps_the_last_answer():
    from shared.router import TtlFlag

    now, reads = [0.0], []

    def read():
        reads.append(now[0])
        if len(reads) == 3:
            raise RuntimeError("firestore down")
        return len(reads) >= 2

    flag = TtlFlag(read, ttl_s=30, clock=lambda: now[0])
    assert flag() is False and flag() is False and reads == [0.0]
    now[0] = 31
    assert flag() is True
    now[0] = 62
    assert flag() is True and len(reads) == 3  # the failed read kept True
