"""The dual-encoder ranker and the look-up by meaning: both serve the
published version a ``ModelPointer`` holds (``encoder_model.EncoderModel``).

Built by the composition root (``shared/app.py``), which gives both one
pointer: one loaded model serves the ranking and the look-up.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from shared.ranking import Candidate, Context, Scored
from shared.ranking.model_pointer import ModelPointer, ModelUnavailable


class MeaningRetriever:
    """The scorer's look-up by meaning: the published version's table, or
    nothing while no model is published (keyword candidates still answer)."""

    def __init__(self, models: ModelPointer) -> None:
        self.models = models

    def nearest(self, context: Context, k: int, min_score: float = -1.0) -> list[Candidate]:
        try:
            model = self.models.current()
        except ModelUnavailable:
            return []
        return model.nearest(context, k, min_score)

    def same_meaning(self, texts: Sequence[str], said: Sequence[str], threshold: float) -> list[bool]:
        try:
            model = self.models.current()
        except ModelUnavailable:
            return [False] * len(texts)
        return model.same_meaning(texts, said, threshold)


class DualEncoderRanker:
    name = "dual_encoder"

    def __init__(self, models: ModelPointer) -> None:
        self.models = models

    def rank(self, context: Context, candidates: Sequence[Candidate]) -> list[Scored]:
        model = self.models.current()
        scores = model.scores(context, [c.text for c in candidates])
        # sort_scored's order (best first, ties in candidate order), in numpy: 500 candidates sort in microseconds.
        values = scores.tolist()
        return [Scored(candidates[i], values[i]) for i in np.argsort(-scores, kind="stable").tolist()]
