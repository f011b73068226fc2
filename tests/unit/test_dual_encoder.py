"""The dual encoder's serving side, with a fake model (no TensorFlow, no LiteRT):
version pointer with a TTL, hot swap, and ranking by score."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

from shared.ranking import Candidate, Context
from shared.ranking.dual_encoder import DualEncoderRanker, ModelPointer, ModelUnavailable
from tests.conftest import REPO


class FakeModel:
    """Scores a candidate by how many words it shares with the context."""

    def __init__(self, version: str) -> None:
        self.version = version

    def scores(self, context, candidate_texts):
        words = set(context.turns[-1].lower().split())
        return np.array([len(words & set(t.lower().split())) for t in candidate_texts], dtype=np.float32)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pointer_to(version: str | None):
    return {"version": version, "uri": f"/models/{version}"} if version else None


class Harness:
    def __init__(self, version: str | None, ttl_s: float = 30.0, gate: threading.Event | None = None) -> None:
        self.pointer = pointer_to(version)
        self.loaded: list[str] = []
        self.clock = Clock()
        self.gate = gate
        self.models = ModelPointer(lambda: self.pointer, ttl_s, self._load, self.clock)

    def _load(self, uri: str) -> FakeModel:
        if self.gate is not None and self.loaded:
            assert self.gate.wait(5)
        self.loaded.append(uri)
        return FakeModel(uri.rsplit("/", 1)[1])

    def settle(self) -> None:
        for thread in threading.enumerate():
            if thread.name == "model-refresh":
                thread.join(5)


def test_ranking_orders_candidates_by_the_models_scores():
    harness = Harness("v1")
    ranker = DualEncoderRanker(harness.models)
    candidates = [Candidate("hello"), Candidate("I love cats too"), Candidate("cats")]
    ranked = ranker.rank(Context(("earlier turn", "I love cats"), "en"), candidates)
    assert [s.candidate.text for s in ranked] == ["I love cats too", "cats", "hello"]
    assert ranker.rank(Context(("x",), "en"), []) == []


def test_ties_keep_the_candidates_order():
    ranker = DualEncoderRanker(Harness("v1").models)
    candidates = [Candidate(t) for t in ("dogs", "cats b", "birds", "cats a")]
    ranked = ranker.rank(Context(("cats",), "en"), candidates)
    assert [s.candidate.text for s in ranked] == ["cats b", "cats a", "dogs", "birds"]
    assert [s.score for s in ranked] == [1.0, 1.0, 0.0, 0.0]


def test_no_published_model_is_a_clear_retryable_error():
    with pytest.raises(ModelUnavailable, match="models/current"):
        Harness(None).models.current()


def test_the_pointer_is_read_at_most_once_per_ttl():
    reads = []
    models = ModelPointer(lambda: reads.append(1) or pointer_to("v1"), 30.0, lambda uri: FakeModel("v1"), Clock())
    for _ in range(5):
        models.current()
    assert len(reads) == 1


def test_a_new_version_is_picked_up_after_the_ttl_without_a_restart():
    harness = Harness("v1", ttl_s=30.0)
    assert harness.models.current().version == "v1"
    harness.pointer = pointer_to("v2")
    harness.clock.now = 10.0
    assert harness.models.current().version == "v1"  # within the TTL: not even looked at
    harness.clock.now = 31.0
    harness.models.current()
    harness.settle()
    assert harness.models.current().version == "v2"
    assert harness.loaded == ["/models/v1", "/models/v2"]


def test_the_old_version_keeps_serving_while_the_new_one_loads():
    gate = threading.Event()
    harness = Harness("v1", ttl_s=1.0, gate=gate)
    harness.models.current()
    harness.pointer = pointer_to("v2")
    harness.clock.now = 5.0
    assert harness.models.current().version == "v1"  # the load of v2 is blocked...
    assert harness.models.current().version == "v1"  # ...and requests still get v1
    gate.set()
    harness.settle()
    assert harness.models.current().version == "v2"


def test_a_version_that_fails_to_load_leaves_the_old_one_serving():
    harness = Harness("v1", ttl_s=1.0)
    harness.models.current()

    def broken(uri):
        raise OSError("no such file")

    harness.models._load = broken
    harness.pointer = pointer_to("v2")
    harness.clock.now = 5.0
    harness.models.current()
    harness.settle()
    assert harness.models.current().version == "v1"


def test_importing_the_serving_module_imports_neither_tensorflow_nor_litert():
    code = (
        "import sys, shared.ranking.dual_encoder, shared.ranking\n"
        "shared.ranking.RankerRegistry().names()\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'ai_edge_litert') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_failed_pointer_read_after_the_first_load_keeps_the_model_serving():
    harness = Harness("v1", ttl_s=1.0)
    harness.models.current()

    def unreachable():
        raise ConnectionError("firestore is down")

    harness.models._read_pointer = unreachable
    harness.clock.now = 5.0
    assert harness.models.current().version == "v1"
    harness.settle()
    assert harness.models.current().version == "v1"


def test_a_slow_load_is_not_started_twice_by_later_ttl_checks():
    gate = threading.Event()
    harness = Harness("v1", ttl_s=1.0, gate=gate)
    harness.models.current()
    harness.pointer = pointer_to("v2")
    for now in (5.0, 10.0, 15.0):
        harness.clock.now = now
        harness.models.current()
    gate.set()
    harness.settle()
    assert harness.loaded == ["/models/v1", "/models/v2"]


def _model_with(
    monkeypatch, vectors: dict, texts: list, contexts: list | None = None, length_weight: float = 0.0, previous_line_weight: float = 0.0
):
    """An EncoderModel whose encoders map a text to ``vectors[text]`` (no LiteRT);
    its scores are the towers' cosines of the last line unless given weights."""
    from shared.ranking import dual_encoder
    from shared.ranking.ngrams import NgramConfig

    class FakeEncoder:
        def __init__(self, model, ngram) -> None:
            pass

        def __call__(self, text):
            return np.array(vectors[text], np.float32)

    monkeypatch.setattr(dual_encoder, "_Encoder", FakeEncoder)
    table = np.array([vectors[t] for t in texts], np.float32)
    return dual_encoder.EncoderModel(
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
    from shared.ranking.dual_encoder import LENGTH_WEIGHT

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
    from shared.ranking.dual_encoder import PREVIOUS_LINE_WEIGHT

    games, sweets = "パズルゲームです", "シュークリームが好きです"
    vectors = {"どんなのが好き?": [0.6, 0.8], "ゲームはしますか?": [1.0, 0.0], "はい、よくします!": [0.0, 1.0],
               games: [0.7, 0.714], sweets: [0.5, 0.866]}
    model = _model_with(monkeypatch, vectors, [games, sweets], previous_line_weight=PREVIOUS_LINE_WEIGHT)
    alone = model.scores(Context(("どんなのが好き?",), "ja"), [games, sweets])
    after = model.scores(Context(("ゲームはしますか?", "はい、よくします!", "どんなのが好き?"), "ja"), [games, sweets])
    assert alone[1] > alone[0] and after[0] > after[1]


def test_the_meaning_retriever_finds_nothing_while_no_model_is_published():
    from shared.ranking.dual_encoder import MeaningRetriever

    assert MeaningRetriever(Harness(None).models).nearest(Context(("猫",), "ja"), 5) == []


def test_same_meaning_compares_reply_vectors(monkeypatch):
    vectors = {"a": [1.0, 0.0], "a2": [0.95, 0.312], "b": [0.0, 1.0]}
    model = _model_with(monkeypatch, vectors, ["a", "b"])
    assert model.same_meaning(["a2", "b"], ["a"], 0.9) == [True, False]  # a2 is off the table: encoded on the fly
    assert model.same_meaning(["a2"], [], 0.9) == [False]


def test_the_look_up_by_meaning_leaves_out_what_is_not_close_enough(monkeypatch):
    vectors = {"猫が好き": [1.0, 0.0], "犬が好き": [0.0, 1.0], "寿司": [0.6, 0.8]}
    model = _model_with(monkeypatch, vectors, ["犬が好き", "寿司", "猫が好き"])
    assert [c.text for c in model.nearest(Context(("猫が好き",), "ja"), 3, min_score=0.5)] == ["猫が好き", "寿司"]
