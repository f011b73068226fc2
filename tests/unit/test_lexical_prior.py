"""The dual encoder's lexical prior: hashed TF-IDF rows, the gather that
scores them, and how its score is mixed with the encoder's."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from shared import text
from shared.ranking.lexical_prior import MAX_TERMS, LexicalPrior, bucket, combine, standardised

CORPUS = [
    "I love my guitar",
    "I love pizza",
    "I love the weekend",
    "the weather is nice today",
    "my cat sleeps all day",
    "猫が好きです",
    "ギターを弾きます",
    "今日は天気がいいですね",
]


@pytest.fixture(scope="module")
def prior() -> LexicalPrior:
    return LexicalPrior.fit(CORPUS)


def reference_cosine(prior: LexicalPrior, context: str, reply: str, lang: str) -> float:
    """Plain dictionaries, no hashing tricks: what the gather must equal."""
    idf = lambda term: float(prior.idf[bucket(term)])  # noqa: E731
    query = {t: w * idf(t) for t, w in text.weighted_terms([context], lang).items()}
    document = {t: (1 + math.log(c)) * idf(t) for t, c in Counter(text.terms(reply, text.detect_lang(reply))).items()}
    norm = lambda v: math.sqrt(sum(x * x for x in v.values())) or 1.0  # noqa: E731
    return sum(w * document.get(t, 0.0) for t, w in query.items()) / (norm(query) * norm(document))


def test_a_rare_shared_word_outranks_a_common_one(prior):
    replies = ["I love pizza", "my guitar is old"]
    scores = prior.scores(prior.query(["I love my guitar"], "en"), prior.rows(replies))
    assert scores[1] > scores[0] > 0


def test_scores_equal_the_plain_cosine(prior):
    replies = CORPUS + ["nothing in common here", "guitar guitar guitar pizza", ""]
    for context, lang in [("I love my guitar and pizza", "en"), ("猫とギターが好き", "ja"), ("hello", "en")]:
        got = prior.scores(prior.query([context], lang), prior.rows(replies))
        want = [reference_cosine(prior, context, r, lang) if r else 0.0 for r in replies]
        assert got == pytest.approx(want, abs=1e-5)


def test_idf_is_smoothed_like_sklearn(prior):
    n = len(CORPUS)
    assert prior.idf[bucket("love")] == pytest.approx(math.log((1 + n) / (1 + 3)) + 1)
    assert prior.idf[bucket("never-seen")] == pytest.approx(math.log(1 + n) + 1)


def test_a_long_reply_keeps_its_heaviest_terms(prior):
    unseen = [f"word{i}" for i in range(MAX_TERMS)]  # the highest idf
    ids, weights = prior.row(" ".join(["love", *unseen]))
    assert len(ids) == MAX_TERMS and bucket("love") not in ids  # the commonest goes
    assert np.all(weights > 0)


def test_nothing_to_match_scores_zero(prior):
    rows = prior.rows(["I love pizza"])
    assert prior.scores(prior.query([""], "en"), rows).tolist() == [0.0]
    assert prior.rows([])[0].shape == (0, MAX_TERMS)


def test_cached_rows_are_the_computed_rows(prior):
    first = prior.cached_row("my guitar is old")
    assert first is prior.cached_row("my guitar is old")
    assert np.array_equal(first[0], prior.row("my guitar is old")[0])


def test_it_survives_a_round_trip(prior):
    table = prior.rows(CORPUS)
    again, again_table = LexicalPrior.from_bytes(prior.to_bytes(table))
    assert np.array_equal(again.idf, prior.idf)
    assert all(np.array_equal(a, b) for a, b in zip(table, again_table))


def test_weight_zero_leaves_the_encoder_alone():
    dense = np.array([0.3, 0.9, 0.1], dtype=np.float32)
    assert combine(dense, np.array([1.0, 0.0, 0.0]), 0.0) is dense


def test_the_prior_can_overturn_a_close_call():
    dense = np.array([0.50, 0.52, 0.10])
    lexical = np.array([0.8, 0.0, 0.0])
    assert np.argmax(combine(dense, lexical, 0.0)) == 1
    assert np.argmax(combine(dense, lexical, 1.0)) == 0


def test_standardised_has_zero_mean_and_unit_spread():
    scores = standardised(np.array([1.0, 2.0, 3.0, 6.0]))
    assert scores.mean() == pytest.approx(0) and scores.std() == pytest.approx(1)
    assert standardised(np.array([2.0, 2.0])).tolist() == [0.0, 0.0]
