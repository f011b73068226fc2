"""Pure logic of training and evaluation: the split, trials, recall, the
choice of the best trial. Nothing here imports TensorFlow."""

from __future__ import annotations

import sys
from collections import Counter

import pytest

from jobs.train.data import SPLIT_SHARES, Pair, split_of
from jobs.train.evaluate import RandomRanker, build_queries, evaluate, paired_bootstrap, recall
from jobs.train.model import HParams
from jobs.train.run import best_trial
from jobs.train.trials import Trial, propose
from jobs.train.data import DataSpec
from shared.ranking import Context, sort_scored


def test_the_split_is_by_conversation_stable_and_near_its_shares():
    conversations = [f"c{i}" for i in range(4000)]
    first = {c: split_of(c, seed=13) for c in conversations}
    assert first == {c: split_of(c, seed=13) for c in conversations}
    counts = Counter(first.values())
    for name, share in SPLIT_SHARES.items():
        assert abs(counts[name] / len(conversations) - share) < 0.03
    assert {c: split_of(c, seed=14) for c in conversations} != first  # the seed matters


def _splits(n: int, lang: str = "en") -> dict[str, list[Pair]]:
    test = [Pair(f"context {i}", f"reply {i}", lang, f"c{i}") for i in range(n)]
    return {"train": [], "valid": [], "test": test}


def test_each_query_hides_its_reply_among_distinct_distractors_in_random_places():
    queries = build_queries(_splits(300), "en", size=10)
    assert len(queries) == 300
    for query in queries:
        assert len(query.candidates) == 10 == len(set(query.candidates))
        assert query.reply in query.candidates
    positions = Counter(q.candidates.index(q.reply) for q in queries)
    assert len(positions) == 10  # not always first: ties would favour it


def test_queries_are_the_same_on_every_run():
    assert build_queries(_splits(50), "en", 10) == build_queries(_splits(50), "en", 10)


def test_a_small_test_pool_is_topped_up_from_the_other_splits():
    splits = _splits(20, "ja")
    splits["train"] = [Pair(f"t{i}", f"train reply {i}", "ja", f"t{i}") for i in range(200)]
    assert all(len(q.candidates) == 100 for q in build_queries(splits, "ja", 100))


class Oracle:
    name = "oracle"

    def rank(self, context: Context, candidates):
        answer = context.turns[-1].replace("context", "reply")
        return sort_scored(candidates, [1.0 if c.text == answer else 0.0 for c in candidates])


def test_recall_is_one_for_an_oracle_and_near_k_over_n_for_random():
    queries = build_queries(_splits(500), "en", 10)
    assert recall(Oracle(), queries, 1) == 1.0
    assert 0.05 < recall(RandomRanker(), queries, 1) < 0.15
    assert 0.4 < recall(RandomRanker(), queries, 5) < 0.6


@pytest.mark.parametrize(
    "a, b, sure_ahead",
    [
        ([1, 0] * 200, [1, 0] * 200, False),  # the same hits: no lead
        ([1] * 300 + [0] * 100, [0] * 300 + [1] * 100, True),
        ([1, 0, 0, 0] * 100, [0, 1, 0, 0] * 100, False),  # as many wins as losses
    ],
)
def test_the_paired_bootstrap_interval_excludes_zero_only_for_a_real_lead(a, b, sure_ahead):
    lead = paired_bootstrap(a, b)
    assert lead["low"] <= lead["diff"] <= lead["high"]
    assert (lead["low"] > 0) == sure_ahead
    assert paired_bootstrap(a, b) == lead  # a fixed seed: the report is reproducible


def test_the_report_gives_the_first_rankers_lead_over_the_lexical_rankers():
    class Tfidf(RandomRanker):
        name = "tfidf"

    report = evaluate([Oracle(), Tfidf()], _splits(300), ["en"])["en"]
    lead = report["lead"]["oracle - tfidf"]
    assert set(lead) == {"R@1/10", "R@1/100"}
    assert lead["R@1/10"]["low"] > 0 and lead["R@1/100"]["low"] > 0


def test_trials_are_distinct_and_travel_as_json():
    trials = propose("run1", 6, epochs=3, data=DataSpec(chitchat_conversations=10, real_persona_chat_dialogues=10))
    assert len({tuple(sorted(t.hparams.to_dict().items())) for t in trials}) == 6
    assert trials[0].hparams == HParams(epochs=3)
    assert [t.trial_id for t in trials] == [f"run1-{i}" for i in range(6)]
    assert all(Trial.from_json(t.to_json()) == t for t in trials)


@pytest.mark.parametrize("body", [b"not json", b'{"schema_version": 99}', b'{"schema_version": 1}'])
def test_a_malformed_trial_message_is_rejected(body):
    with pytest.raises((ValueError, KeyError, TypeError)):
        Trial.from_json(body)


def test_the_best_trial_is_the_finished_one_with_the_highest_validation_recall():
    records = [
        {"trial_id": "r-0", "status": "done", "val_recall_at_1": 0.30},
        {"trial_id": "r-1", "status": "done", "val_recall_at_1": 0.41},
        {"trial_id": "r-2", "status": "running", "val_recall_at_1": 0.90},
        {"trial_id": "r-3", "status": "done", "val_recall_at_1": 0.41},
    ]
    assert best_trial(records)["trial_id"] == "r-1"
    assert best_trial([]) is None


def test_training_modules_import_without_tensorflow():
    assert "tensorflow" not in sys.modules


@pytest.mark.parametrize(
    "epochs_done, best_epoch, patience, stop",
    [(0, None, 2, False), (3, 3, 2, False), (4, 3, 2, False), (5, 3, 2, True), (9, 1, 0, False)],
)
def test_training_stops_after_patience_epochs_without_a_better_validation_recall(epochs_done, best_epoch, patience, stop):
    from jobs.train.worker import _stopped_early

    best = {"epoch": best_epoch, "model": f"epoch-{best_epoch}.keras", "val_recall_at_1": 0.3} if best_epoch else None
    assert _stopped_early({"epochs_done": epochs_done, "best": best}, patience) is stop


class _PartsModel:
    """score_parts for toy pairs "context i" -> "reply i": the encoder is
    right when ``encoder_knows``, the prior when ``prior_knows``; otherwise
    each scores by a seeded hash."""

    def __init__(self, encoder_knows: bool, prior_knows: bool) -> None:
        self.encoder_knows, self.prior_knows = encoder_knows, prior_knows

    @staticmethod
    def _part(knows: bool, context: str, texts, salt: str):
        import zlib

        import numpy as np

        wanted = context.replace("context", "reply")
        return np.array([1.0 if knows and t == wanted else zlib.crc32(f"{salt}{t}".encode()) % 997 / 997 * 0.9 for t in texts])

    def score_parts(self, context, texts):
        text = context.turns[-1]
        return self._part(self.encoder_knows, text, texts, "dense"), self._part(self.prior_knows, text, texts, "lexical")


def _valid_splits(n: int) -> dict[str, list[Pair]]:
    splits = _splits(n)
    return {"train": [], "valid": splits["test"], "test": []}


def test_the_prior_gets_weight_when_it_knows_what_the_encoder_does_not():
    from jobs.train.publish import choose_lexical_weight

    weight, recall = choose_lexical_weight(_PartsModel(encoder_knows=False, prior_knows=True), _valid_splits(200), ["en"])
    assert weight > 0 and recall[weight] > recall[0.0]


def test_a_prior_that_knows_nothing_gets_no_weight():
    from jobs.train.publish import choose_lexical_weight

    weight, recall = choose_lexical_weight(_PartsModel(encoder_knows=True, prior_knows=False), _valid_splits(200), ["en"])
    assert weight == 0.0 and recall[0.0] == 1.0
