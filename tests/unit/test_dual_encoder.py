"""The dual encoder's serving side, with a fake model (no TensorFlow, no LiteRT):
ranking by score and the look-up by meaning over a ``ModelPointer``
(the pointer itself: test_model_pointer.py; the loaded model: test_encoder_model.py)."""

from __future__ import annotations

import subprocess
import sys

from shared.ranking import Candidate, Context
from shared.ranking.dual_encoder import DualEncoderRanker
from tests.conftest import REPO

from .test_model_pointer import Harness


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


def test_importing_the_serving_modules_imports_neither_tensorflow_nor_litert():
    code = (
        "import sys, shared.ranking.dual_encoder, shared.ranking.encoder_model, shared.ranking\n"
        "shared.ranking.RankerRegistry().names()\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'ai_edge_litert') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_meaning_retriever_finds_nothing_while_no_model_is_published():
    from shared.ranking.dual_encoder import MeaningRetriever

    assert MeaningRetriever(Harness(None).models).nearest(Context(("猫",), "ja"), 5) == []
