"""One published version, loaded (``EncoderModel``) with fake encoders (no
LiteRT): scoring, the length prior, the line before, the look-up by meaning."""

from __future__ import annotations

import numpy as np

from shared.ranking import Context


def _model_with(
    monkeypatch, vectors: dict, texts: list, contexts: list | None = None, length_weight: float = 0.0, previous_line_weight: float = 0.0
):
    """An EncoderModel whose encoders map a text to ``vectors[text]`` (no LiteRT);
    its scores are the towers' cosines of the last line unless given weights."""
    from shared.ranking import encoder_model
    from shared.ranking.ngrams import NgramConfig

    class FakeEncoder:
        def __init__(self, model, ngram) -> None:
            pass

        def __call__(self, text):
            return np.array(vectors[text], np.float32)

    monkeypatch.setattr(encoder_model, "_Encoder", FakeEncoder)
    table = np.array([vectors[t] for t in texts], np.float32)
    return encoder_model.EncoderModel(
        "v", NgramConfig(), b"", b"", texts, table, contexts=contexts, length_weight=length_weight, previous_line_weight=previous_line_weight
    )


def test_the_look_up_by_meaning_returns_the_nearest_replies_of_the_language(monkeypatch):
    vectors = {"猫が好き": [1.0, 0.0], "犬が好き": [0.0, 1.0], "I like cats": [1.0, 0.0], "寿司": [0.6, 0.8]}
    texts = ["I like cats", "犬が好き", "寿司", "猫が好き"]  # the languages interleaved, as a table may be
    model = _model_with(monkeypatch, vectors, texts, contexts=["c0", "c1", "c2", "c3"])
    found = model.nearest(Context(("猫が好き",), "ja"), 2)
    assert [c.text for c in found] == ["猫が好き", "寿司"] and [c.context for c in found] == ["c3", "c2"]
    assert [c.text for c in model.nearest(Context(("猫が好き",), "en"), 5)] == ["I like cats"]
    # Rows regrouped by language still score the texts they belong to.
    assert model.scores(Context(("猫が好き",), "ja"), ["犬が好き", "猫が好き", "I like cats"]).tolist() == [0.0, 1.0, 1.0]


def test_a_fragment_loses_to_an_answer_that_fits_nearly_as_well_not_to_one_that_fits_much_worse(monkeypatch):
    from shared.ranking.encoder_model import LENGTH_WEIGHT

    fragment, answer, other = "食べ物でなくても", "食べ物ですかローストビーフとか和食とかが好きですね", "そうですね、はい"
    question = "食べ物は何がおいしいですか?"

    def ranked(fits: list[float]) -> list[str]:
        vectors = {question: [1.0, 0.0], **{t: [f, (1 - f * f) ** 0.5] for t, f in zip((fragment, answer, other), fits)}}
        model = _model_with(monkeypatch, vectors, [fragment, answer, other], length_weight=LENGTH_WEIGHT)
        scores = model.scores(Context((question,), "ja"), [fragment, answer, other])
        return [t for _, t in sorted(zip(scores.tolist(), (fragment, answer, other)), reverse=True)]

    assert ranked([0.50, 0.49, 0.10])[0] == answer
    assert ranked([0.90, 0.30, 0.10])[0] == fragment


def test_a_line_that_leaves_its_topic_unsaid_is_answered_on_the_speakers_line_before(monkeypatch):
    from shared.ranking.encoder_model import PREVIOUS_LINE_WEIGHT

    games, sweets = "パズルゲームです", "シュークリームが好きです"
    vectors = {"どんなのが好き?": [0.6, 0.8], "ゲームはしますか?": [1.0, 0.0], "はい、よくします!": [0.0, 1.0],
               games: [0.7, 0.714], sweets: [0.5, 0.866]}
    model = _model_with(monkeypatch, vectors, [games, sweets], previous_line_weight=PREVIOUS_LINE_WEIGHT)
    alone = model.scores(Context(("どんなのが好き?",), "ja"), [games, sweets])
    after = model.scores(Context(("ゲームはしますか?", "はい、よくします!", "どんなのが好き?"), "ja"), [games, sweets])
    assert alone[1] > alone[0] and after[0] > after[1]


def test_same_meaning_compares_reply_vectors(monkeypatch):
    vectors = {"a": [1.0, 0.0], "a2": [0.95, 0.312], "b": [0.0, 1.0]}
    model = _model_with(monkeypatch, vectors, ["a", "b"])
    assert model.same_meaning(["a2", "b"], ["a"], 0.9) == [True, False]  # a2 is off the table: encoded on the fly
    assert model.same_meaning(["a2"], [], 0.9) == [False]


def test_the_look_up_by_meaning_leaves_out_what_is_not_close_enough(monkeypatch):
    vectors = {"猫が好き": [1.0, 0.0], "犬が好き": [0.0, 1.0], "寿司": [0.6, 0.8]}
    model = _model_with(monkeypatch, vectors, ["犬が好き", "寿司", "猫が好き"])
    assert [c.text for c in model.nearest(Context(("猫が好き",), "ja"), 3, min_score=0.5)] == ["猫が好き", "寿司"]
