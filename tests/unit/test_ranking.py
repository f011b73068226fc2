"""Rankers, compared by the order they produce on toy corpora (not by numbers).

Every promise is checked for each registered algorithm, looked up by name
through ``RankerRegistry`` as the scorer does.
"""

from __future__ import annotations

import pytest

from shared.ranking import RANKERS, Candidate, Context, RankerRegistry, Scored, UnknownAlgorithm, sort_scored

ALGORITHMS = ["tfidf", "bm25"]  # the lexical ones; the dual encoder needs a model (test_dual_encoder.py)


@pytest.fixture(scope="module")
def registry() -> RankerRegistry:
    return RankerRegistry()


def _rank(registry, algorithm, turns, lang, candidates) -> list[str]:
    ranked = registry.get(algorithm).rank(Context(tuple(turns), lang), candidates)
    return [s.candidate.text for s in ranked]


JA_CORPUS = [
    Candidate("こんにちは"),
    Candidate("電車が遅れて大変でした", context="通勤はどう？"),
    Candidate("猫はかわいいですよね。うちの猫も寝てばかりです", context="猫が好き"),
    Candidate("週末は雨らしいですよ", context="天気"),
]
EN_CORPUS = [
    Candidate("hello"),
    Candidate("The train was late again", context="how was the commute"),
    Candidate("Cats sleep most of the day, my cat too", context="I love my cat"),
    Candidate("It will rain this weekend", context="weather"),
]


def test_the_registry_offers_tfidf_bm25_and_the_dual_encoder(registry):
    assert registry.names() == sorted([*ALGORITHMS, "dual_encoder"])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "turns, lang, corpus, on_topic, generic",
    [
        (["猫が好きです"], "ja", JA_CORPUS, "猫はかわいいですよね。うちの猫も寝てばかりです", "こんにちは"),
        (["I love cats"], "en", EN_CORPUS, "Cats sleep most of the day, my cat too", "hello"),
        (["雨の天気は嫌だな"], "ja", JA_CORPUS, "週末は雨らしいですよ", "こんにちは"),
        (["My train was late today"], "en", EN_CORPUS, "The train was late again", "hello"),
    ],
    ids=["ja-cats", "en-cats", "ja-rain", "en-train"],
)
def test_an_informative_on_topic_reply_ranks_first_and_a_greeting_below_it(
    registry, algorithm, turns, lang, corpus, on_topic, generic
):
    ranked = _rank(registry, algorithm, turns, lang, corpus)
    assert ranked[0] == on_topic
    assert ranked.index(generic) > ranked.index(on_topic)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_reply_to_a_matching_post_outranks_unrelated_replies(registry, algorithm):
    corpus = [Candidate("hello"), Candidate("The train was late", context="commute"), Candidate("Me too!", context="I love cats")]
    assert _rank(registry, algorithm, ["I love cats"], "en", corpus)[0] == "Me too!"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_ranking_returns_every_candidate_once_best_first(registry, algorithm):
    ranked = registry.get(algorithm).rank(Context(("猫が好きです",), "ja"), JA_CORPUS)
    assert sorted((s.candidate for s in ranked), key=JA_CORPUS.index) == JA_CORPUS
    scores = [s.score for s in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(s, Scored) and isinstance(s.score, float) for s in ranked)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_candidate_sharing_nothing_scores_zero(registry, algorithm):
    ranked = registry.get(algorithm).rank(Context(("I love cats",), "en"), EN_CORPUS)
    by_text = {s.candidate.text: s.score for s in ranked}
    assert by_text["It will rain this weekend"] == 0.0
    assert by_text["Cats sleep most of the day, my cat too"] > 0.0


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_ties_keep_the_input_order(registry, algorithm):
    twins = [Candidate("cats are nice", source="first"), Candidate("cats are nice", source="second")]
    strangers = [Candidate("trains", source="x"), Candidate("rain", source="y"), Candidate("soup", source="z")]
    ranked = registry.get(algorithm).rank(Context(("I love cats",), "en"), [strangers[0], *twins, *strangers[1:]])
    assert [s.candidate.source for s in ranked] == ["first", "second", "x", "y", "z"]
    reversed_twins = registry.get(algorithm).rank(Context(("I love cats",), "en"), twins[::-1])
    assert [s.candidate.source for s in reversed_twins] == ["second", "first"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_ranking_is_deterministic(registry, algorithm):
    context = Context(("猫が好きです", "犬も好きです"), "ja")
    assert registry.get(algorithm).rank(context, JA_CORPUS) == registry.get(algorithm).rank(context, JA_CORPUS)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_no_candidates_rank_to_an_empty_list(registry, algorithm):
    assert registry.get(algorithm).rank(Context(("猫が好きです",), "ja"), []) == []


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "lang, earlier, later, about_earlier, about_later",
    [
        ("ja", "猫が好きです", "犬も好きです", "猫はかわいい", "犬はかわいい"),
        ("en", "I love cats", "dogs too", "cats are cute", "dogs are cute"),
    ],
)
def test_later_turns_of_the_context_matter_more_than_earlier_ones(
    registry, algorithm, lang, earlier, later, about_earlier, about_later
):
    corpus = [Candidate(about_earlier), Candidate(about_later)]
    assert _rank(registry, algorithm, [earlier, later], lang, corpus)[0] == about_later
    assert _rank(registry, algorithm, [later, earlier], lang, corpus)[0] == about_earlier


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_latest_topic_wins_even_when_its_reply_is_a_little_longer(registry, algorithm):
    corpus = [Candidate("猫はかわいい"), Candidate("犬の散歩は楽しい")]
    assert _rank(registry, algorithm, ["猫が好きです", "犬も好きです"], "ja", corpus)[0] == "犬の散歩は楽しい"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "turns, lang, filler_only, on_topic",
    [
        (["hello, I love cats"], "en", "hello", "Cats sleep most of the day"),
        (["I think that the cats are great"], "en", "I think that is so true", "Cats sleep a lot"),
        (["ねえ、猫ってどう思う？"], "ja", "どう思う？", "猫は一日中寝ています"),
    ],
    ids=["en-greeting", "en-filler", "ja-filler"],
)
def test_a_reply_sharing_only_filler_does_not_outrank_the_on_topic_one(
    registry, algorithm, turns, lang, filler_only, on_topic
):
    ranked = _rank(registry, algorithm, turns, lang, [Candidate(filler_only), Candidate(on_topic)])
    assert ranked[0] == on_topic


# -- the seam ------------------------------------------------------------------------


def test_unknown_algorithm_is_an_unknown_algorithm_error(registry):
    with pytest.raises(UnknownAlgorithm):
        registry.get("word2vec")
    assert issubclass(UnknownAlgorithm, KeyError)


def test_each_ranker_is_built_once_and_only_when_first_used():
    built: list[str] = []

    class Echo:
        name = "echo"

        def rank(self, context, candidates):
            return sort_scored(candidates, [0.0] * len(candidates))

    def factory():
        built.append("echo")
        return Echo()

    registry = RankerRegistry({"echo": factory, "never": lambda: pytest.fail("built a ranker nobody asked for")})
    assert built == []
    first = registry.get("echo")
    assert registry.get("echo") is first
    assert built == ["echo"]


def test_the_default_registry_returns_the_same_ranker_each_time():
    registry = RankerRegistry()
    assert registry.get("bm25") is registry.get("bm25")
    assert registry.get("tfidf").name == "tfidf"
    assert registry.get("bm25").name == "bm25"


def test_a_failed_build_is_retried_on_the_next_get():
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("model not ready")
        return object()

    registry = RankerRegistry({"flaky": flaky})
    with pytest.raises(RuntimeError):
        registry.get("flaky")
    assert registry.get("flaky") is not None
    assert len(attempts) == 2


def test_registered_factories_are_lazy_callables():
    assert set(RANKERS) == {*ALGORITHMS, "dual_encoder"}
    assert all(callable(factory) for factory in RANKERS.values())


def test_sort_scored_is_best_first_with_ties_in_input_order():
    a, b, c, d = (Candidate(t) for t in "abcd")
    assert [s.candidate.text for s in sort_scored([a, b, c, d], [0.5, 1.0, 0.5, 1.0])] == ["b", "d", "a", "c"]


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"text": "hi"}, Candidate("hi", "", "")),
        ({"text": "hi", "context": "hello", "source": "corpus/greetings"}, Candidate("hi", "hello", "corpus/greetings")),
    ],
)
def test_candidate_from_dict_fills_defaults_and_round_trips(data, expected):
    candidate = Candidate.from_dict(data)
    assert candidate == expected
    assert Candidate.from_dict(candidate.to_dict()) == candidate
