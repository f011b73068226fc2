"""Ranker speed: the dual encoder (LiteRT) next to TF-IDF, same run.

    python bench/rankers.py [--store .run/models] [--version V] [--candidates 500]

Two measurements, each for both rankers on the very same candidates:

1. Scoring: median and p90 ms of ``rank(context, 500 candidates)`` in a warm
   process (the dual encoder: one context encoding + one matrix-vector
   product against precomputed candidate embeddings, plus the lexical
   prior's gather when the version has one). Target: < 2 ms.
2. Cold start: a fresh process that imports the ranker, loads what it needs
   (the model version; the Japanese dictionary for TF-IDF) and answers its
   first ranking, timed from process start to the answer, with its peak
   resident memory. Targets: < 1 s and < 256 MiB.

The model is the store's LATEST version (``make train``); without one, a tiny
model is trained on the spot (speed does not depend on how well it ranks).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_SCORE_MS = 2.0
TARGET_START_S = 1.0
TARGET_PEAK_MIB = 256
CONTEXTS = [("What is your favorite book?", "en"), ("好きな食べ物は何ですか？", "ja"), ("Do you like music?", "en")]


def candidate_texts(count: int) -> list[str]:
    from jobs.train.data import chatterbot_pairs

    texts = dict.fromkeys(p.reply for lang in ("en", "ja") for p in chatterbot_pairs(lang))
    return list(texts)[:count]


def tiny_model(folder: Path) -> tuple[str, str]:
    """Trains a one-epoch model on chatterbot-corpus into ``folder``."""
    from jobs.train import model as model_lib
    from jobs.train.data import DataSpec, load_pairs
    from jobs.train.publish import export_version
    from jobs.train.trials import Trial
    from jobs.train.worker import train_trial
    from shared.model_store import LocalStore

    model_lib.configure_threads(1)
    store = LocalStore(folder)
    trial = Trial("bench", "bench", model_lib.HParams(epochs=1), DataSpec(chitchat_conversations=0, real_persona_chat_dialogues=0))
    state = train_trial(trial, store, None, "bench")
    keras_model = model_lib.from_bytes(store.child("checkpoints/bench").read(state["model"]))
    export_version(keras_model, store, "bench", trial.ngram, candidate_texts(10_000), {"data": trial.data.to_dict()}, load_pairs(trial.data))
    return store.url, "bench"


def make_ranker(name: str, store_url: str, version: str):
    if name == "tfidf":
        from shared.ranking.lexical import TfidfRanker

        return TfidfRanker()
    from shared.model_store import open_store
    from shared.ranking.dual_encoder import DualEncoderRanker
    from shared.ranking.encoder_model import EncoderModel

    model = EncoderModel.load(open_store(store_url).child(f"versions/{version}"))

    class _Fixed:
        def current(self):
            return model

    return DualEncoderRanker(_Fixed())


def child(name: str, store_url: str, version: str, candidates_file: str) -> None:
    """A cold process: build the ranker, answer one ranking, print, exit."""
    from shared.ranking import Candidate, Context

    ranker = make_ranker(name, store_url, version)
    candidates = [Candidate(t) for t in json.loads(Path(candidates_file).read_text())]
    text, lang = CONTEXTS[0]
    best = ranker.rank(Context((text,), lang), candidates)[0]
    print(json.dumps({"answered": best.candidate.text, "peak_mib": own_peak_mib()}), flush=True)


def own_peak_mib() -> float:
    """This process's peak resident memory since its exec (VmHWM). Not
    getrusage's ru_maxrss: Linux carries the forked parent's peak across
    exec into it, so a child of a big parent would report the parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmHWM in /proc/self/status")


def cold_start(name: str, store_url: str, version: str, candidates_file: str) -> tuple[float, float]:
    """(seconds from spawn to the first answer, peak RSS in MiB)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", name, "--store", store_url, "--version", version, "--candidates-file", candidates_file],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    line = process.stdout.readline()
    answered = time.perf_counter() - started
    process.stdout.read()
    status = process.wait()
    if not line or status != 0:
        raise RuntimeError(f"{name} child failed (status {status})")
    return answered, json.loads(line)["peak_mib"]


def scoring_ms(ranker, candidates, repeats: int) -> list[float]:
    from shared.ranking import Context

    timings = []
    for i in range(repeats):
        text, lang = CONTEXTS[i % len(CONTEXTS)]
        started = time.perf_counter()
        ranker.rank(Context((text,), lang), candidates)
        timings.append((time.perf_counter() - started) * 1000.0)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", default=str(REPO / ".run" / "models"))
    parser.add_argument("--version")
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--candidates-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.store, args.version, args.candidates_file)
        return 0

    from shared.model_store import open_store
    from shared.ranking import Candidate

    store_url, version = args.store, args.version
    if version is None:
        store = open_store(store_url)
        if store.exists("LATEST"):
            version = store.read("LATEST").decode().strip()
        else:
            print("no published model (make train): training a tiny one for the benchmark", flush=True)
            store_url, version = tiny_model(Path(tempfile.mkdtemp(prefix="bench-model-")))
    texts = candidate_texts(args.candidates)
    candidates = [Candidate(t) for t in texts]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(texts, handle, ensure_ascii=False)
    print(f"model {version}; {len(candidates)} candidates (chatterbot-corpus replies, en + ja)")

    rows = {}
    for name in ("dual_encoder", "tfidf"):
        ranker = make_ranker(name, store_url, version)
        scoring_ms(ranker, candidates, len(CONTEXTS))  # warm: caches, first-call costs
        timings = sorted(scoring_ms(ranker, candidates, args.repeats))
        start_s, peak_mib = cold_start(name, store_url, version, handle.name)
        rows[name] = {
            "median_ms": statistics.median(timings),
            "p90_ms": timings[int(len(timings) * 0.9)],
            "start_s": start_s,
            "peak_mib": peak_mib,
        }
    os.unlink(handle.name)

    print(f"\n{'ranker':<14}{'median ms':>11}{'p90 ms':>9}{'first answer s':>16}{'peak MiB':>10}")
    for name, row in rows.items():
        print(f"{name:<14}{row['median_ms']:>11.3f}{row['p90_ms']:>9.3f}{row['start_s']:>16.2f}{row['peak_mib']:>10.0f}")
    de, tf = rows["dual_encoder"], rows["tfidf"]
    print(f"\ndual_encoder / tfidf: scoring x{de['median_ms'] / tf['median_ms']:.3f}, "
          f"start x{de['start_s'] / tf['start_s']:.2f}, peak memory x{de['peak_mib'] / tf['peak_mib']:.2f}")
    checks = [
        (f"scoring {len(candidates)} candidates, median < {TARGET_SCORE_MS} ms", de["median_ms"] < TARGET_SCORE_MS),
        (f"first answer < {TARGET_START_S} s after start", de["start_s"] < TARGET_START_S),
        (f"peak memory < {TARGET_PEAK_MIB} MiB", de["peak_mib"] < TARGET_PEAK_MIB),
    ]
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  dual_encoder {label}")
    print(json.dumps({"version": version, "candidates": len(candidates), "rows": rows}))
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
