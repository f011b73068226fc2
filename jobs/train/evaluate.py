"""Recall@k on the held-out split: the dual encoder against TF-IDF, BM25, random.

    python -m jobs.train.evaluate [--store .run/models] [--version V]

For each test pair (context, reply), the true reply is hidden among
distractors (other replies of the same language, drawn with a fixed seed from
the test split, topped up from the other splits when it is too small), and
each ranker orders them given the context. Every ranker sees the very same
candidate lists. Reported per language: recall@1, @2, @5 of 10 candidates and
@1 of 100 (the conventions of the Ubuntu Dialogue Corpus and of PolyAI's
Reddit benchmark).

Candidates carry only their reply text: a candidate's stored context would
give the true reply away to the lexical rankers.

The dual encoder is scored as the scorer serves it: with its lexical prior
when the version has one (``shared/ranking/lexical_prior.py``); the
``encoder_only`` row is the same model without the prior, what the towers
alone earn.

How sure: the first ranker's lead over each lexical ranker is a paired
bootstrap over the queries (the same resampled queries for both rankers;
``BOOTSTRAP_RESAMPLES`` draws, fixed seed): the mean difference in recall and
its 95% interval.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from typing import Sequence

from jobs.train.data import DataSpec, Pair, load_pairs
from shared.ranking import Candidate, Context, Ranker, Scored, sort_scored

# (candidates per query, k): the columns of the report.
SETTINGS = [(10, 1), (10, 2), (10, 5), (100, 1)]
MAX_QUERIES_PER_LANG = 5000  # a 95% interval of about +-0.01 at R@1/100
SEED = 7
# The lead of the first ranker: over whom, on which columns, how many draws.
LEAD_OVER = ("tfidf", "bm25")
LEAD_COLUMNS = ("R@1/10", "R@1/100")
BOOTSTRAP_RESAMPLES = 2000


class RandomRanker:
    name = "random"

    def __init__(self, seed: int = SEED) -> None:
        self._rng = random.Random(seed)

    def rank(self, context: Context, candidates: Sequence[Candidate]) -> list[Scored]:
        order = list(candidates)
        self._rng.shuffle(order)
        return [Scored(c, 0.0) for c in order]


class EncoderOnlyRanker:
    """A published dual encoder without its lexical prior."""

    name = "encoder_only"

    def __init__(self, model) -> None:
        self._model = model

    def rank(self, context: Context, candidates: Sequence[Candidate]) -> list[Scored]:
        dense, _ = self._model.score_parts(context, [c.text for c in candidates])
        return sort_scored(candidates, dense.tolist())


@dataclass(frozen=True)
class Query:
    context: str
    lang: str
    candidates: tuple[str, ...]  # in a random order: rankers keep input order on ties
    reply: str
    history: tuple[str, ...] = ()  # the turns before ``context`` (two, where the dialogue has them)

    @property
    def conversation(self) -> Context:
        return Context((*self.history, self.context), self.lang)


def build_queries(
    splits: dict[str, list[Pair]], lang: str, size: int, seed: int = SEED, limit: int = MAX_QUERIES_PER_LANG, split: str = "test"
) -> list[Query]:
    """Queries from ``split``'s pairs (``valid`` when a choice is being made)."""
    rng = random.Random(f"{seed}:{lang}:{size}" if split == "test" else f"{seed}:{lang}:{size}:{split}")
    tests = [p for p in splits[split] if p.lang == lang]
    tests = rng.sample(tests, limit) if len(tests) > limit else tests
    pool = list(dict.fromkeys(p.reply for p in splits[split] if p.lang == lang))
    if len(pool) <= size:
        pool += [p.reply for s in ("valid", "train") if s != split for p in splits[s] if p.lang == lang]
        pool = list(dict.fromkeys(pool))
    queries = []
    for pair in tests:
        distractors: list[str] = []
        while len(distractors) < min(size - 1, len(pool) - 1):
            choice = pool[rng.randrange(len(pool))]
            if choice != pair.reply and choice not in distractors:
                distractors.append(choice)
        candidates = [pair.reply, *distractors]
        rng.shuffle(candidates)
        queries.append(Query(pair.context, lang, tuple(candidates), pair.reply, pair.history))
    return queries


def hits(ranker: Ranker, queries: Sequence[Query], k: int) -> list[int]:
    """Per query: 1 if its true reply ranks in the top ``k``, else 0."""
    out = []
    for query in queries:
        candidates = [Candidate(text=t) for t in query.candidates]
        ranked = ranker.rank(query.conversation, candidates)
        out.append(int(query.reply in [s.candidate.text for s in ranked[:k]]))
    return out


def recall(ranker: Ranker, queries: Sequence[Query], k: int) -> float:
    """Share of queries whose true reply ranks in the top ``k``."""
    found = hits(ranker, queries, k)
    return sum(found) / len(found) if found else 0.0


def paired_bootstrap(a: Sequence[int], b: Sequence[int], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = SEED) -> dict:
    """Mean of ``a - b`` over the same queries and its 95% bootstrap interval."""
    import numpy as np

    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if not len(diff):
        return {"diff": 0.0, "low": 0.0, "high": 0.0}
    draws = np.random.default_rng(seed).integers(0, len(diff), size=(resamples, len(diff)))
    low, high = np.percentile(diff[draws].mean(axis=1), [2.5, 97.5])
    return {"diff": round(float(diff.mean()), 3), "low": round(float(low), 3), "high": round(float(high), 3)}


def evaluate(rankers: Sequence[Ranker], splits: dict[str, list[Pair]], langs: Sequence[str], limit: int = MAX_QUERIES_PER_LANG) -> dict:
    """lang -> ranker -> "R@k/n" -> recall, plus the query counts and, under
    "lead", the first ranker's bootstrapped lead over each of ``LEAD_OVER``."""
    report: dict = {}
    for lang in langs:
        by_size = {size: build_queries(splits, lang, size, limit=limit) for size in sorted({s for s, _ in SETTINGS})}
        report[lang] = {"queries": len(by_size[10])}
        found: dict[str, dict[str, list[int]]] = {}
        for ranker in rankers:
            found[ranker.name] = {f"R@{k}/{size}": hits(ranker, by_size[size], k) for size, k in SETTINGS}
            report[lang][ranker.name] = {c: round(sum(h) / len(h), 3) if h else 0.0 for c, h in found[ranker.name].items()}
        leader = rankers[0].name
        report[lang]["lead"] = {
            f"{leader} - {other}": {c: paired_bootstrap(found[leader][c], found[other][c]) for c in LEAD_COLUMNS}
            for other in LEAD_OVER
            if other in found and other != leader
        }
    return report


def render(report: dict) -> str:
    columns = [f"R@{k}/{size}" for size, k in SETTINGS]
    lines = []
    for lang, rows in report.items():
        lines.append(f"\n{lang} ({rows['queries']} held-out pairs)")
        lines.append(f"  {'ranker':<14}" + "".join(f"{c:>9}" for c in columns))
        for name, scores in rows.items():
            if name not in ("queries", "lead"):
                lines.append(f"  {name:<14}" + "".join(f"{scores[c]:>9.3f}" for c in columns))
        for pair, leads in rows.get("lead", {}).items():
            shown = "  ".join(f"{c} {v['diff']:+.3f} [{v['low']:+.3f}, {v['high']:+.3f}]" for c, v in leads.items())
            lines.append(f"  lead {pair}: {shown}  (95% paired bootstrap, {BOOTSTRAP_RESAMPLES} resamples)")
    return "\n".join(lines)


def published_rankers(store_url: str, version: str | None) -> tuple[list[Ranker], dict]:
    """The dual encoder exactly as the scorer serves it (LiteRT, no
    TensorFlow), then, if it has a lexical prior, the encoder alone."""
    from shared.model_store import open_store
    from shared.ranking.dual_encoder import DualEncoderRanker
    from shared.ranking.encoder_model import MANIFEST, EncoderModel

    store = open_store(store_url)
    version = version or store.read("LATEST").decode().strip()
    folder = store.child(f"versions/{version}")
    model = EncoderModel.load(folder)

    class _Fixed:
        def current(self) -> EncoderModel:
            return model

    rankers = [DualEncoderRanker(_Fixed())] + ([EncoderOnlyRanker(model)] if model.lexical_weight else [])
    return rankers, json.loads(folder.read(MANIFEST))


def main(argv: list[str] | None = None) -> int:
    from shared import config
    from shared.ranking.lexical import Bm25Ranker, TfidfRanker

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", default=config.load().model_store)
    parser.add_argument("--version", help="default: the store's LATEST")
    parser.add_argument("--out", help="also write the report as JSON here")
    parser.add_argument("--max-queries", type=int, default=MAX_QUERIES_PER_LANG, help="held-out pairs per language (a seeded sample)")
    args = parser.parse_args(argv)
    published, manifest = published_rankers(args.store, args.version)
    spec = DataSpec.from_dict(manifest["data"])
    splits = load_pairs(spec)
    report = evaluate([*published, TfidfRanker(), Bm25Ranker(), RandomRanker()], splits, spec.langs, args.max_queries)
    print(f"model {manifest['version']} (trial {manifest.get('trial_id')}), split seed {spec.seed}, "
          f"lexical prior weight {manifest.get('lexical_weight', 0)}")
    print(render(report))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"version": manifest["version"], "report": report}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
