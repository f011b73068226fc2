"""Retrieval by meaning: the model's vector table in the scorer vs Firestore vector search.

    python bench/meaning_lookup.py [--replies 450000] [--firestore-sizes 1000,5000,20000]

The scorer looks across the whole reply corpus by meaning when keyword
candidates are few (``shared/scorer.py``). Two ways to do it, measured in one
run on the same 64-dimensional unit vectors (the dual encoder's size):

1. **In the scorer**: the published version's table (``candidates.npz``) in
   memory, one matrix-vector product over a language's rows and a partial
   sort for the top k, as ``EncoderModel.nearest`` does. Measured at the full
   corpus size: latency per request and the table's memory.
2. **Firestore** ``find_nearest`` (``Vector`` fields, COSINE, limit k) on the
   Firestore emulator, which answers it locally (production needs a vector
   index, ``google_firestore_index`` with ``vector_config``): latency per
   request at growing collection sizes on a private emulator.

Both are reported next to each other with the ratio; the production cost of
each (memory per instance vs reads per query) is in docs/replies.md, from the
measured sizes. Needs ``gcloud``'s Firestore emulator (started here on port
``--port``, stopped at the end).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DIMENSION = 64
K = 30  # shared.scorer.MEANING_NEIGHBOURS
REQUESTS = 200


def _unit_rows(n: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, DIMENSION)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def in_scorer(replies: int, k: int = K, requests: int = REQUESTS) -> dict:
    table = _unit_rows(replies, 1)
    rows = slice(0, replies)  # one language's rows: a contiguous slice, as EncoderModel keeps them
    queries = _unit_rows(requests, 2)
    times = []
    for query in queries:
        started = time.perf_counter()
        scores = table[rows] @ query
        best = np.argpartition(-scores, k - 1)[:k]
        best[np.argsort(-scores[best], kind="stable")]
        times.append((time.perf_counter() - started) * 1000)
    return {"replies": replies, "p50_ms": statistics.median(times), "p90_ms": float(np.percentile(times, 90)),
            "table_mib": table.nbytes / 2**20}


def _start_emulator(port: int) -> subprocess.Popen:
    import requests

    sdk = subprocess.run(["gcloud", "info", "--format=value(installation.sdk_root)"], capture_output=True, text=True, check=True).stdout.strip()
    binary = Path(sdk) / "platform/cloud-firestore-emulator/cloud_firestore_emulator"
    process = subprocess.Popen(
        [str(binary), "start", "--host=127.0.0.1", f"--port={port}"],
        env={**os.environ, "JAVA_TOOL_OPTIONS": "-Xmx2g"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/", timeout=1).ok:
                return process
        except requests.RequestException:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the Firestore emulator did not start")


def firestore(sizes: list[int], port: int, k: int = K, requests_per_size: int = 30) -> list[dict]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore as fs
    from google.cloud.firestore_v1.base_vector_query import DistanceMeasure
    from google.cloud.firestore_v1.vector import Vector

    process = _start_emulator(port)
    os.environ["FIRESTORE_EMULATOR_HOST"] = f"127.0.0.1:{port}"
    try:
        db = fs.Client(project="bench-meaning", credentials=AnonymousCredentials())
        results = []
        written = 0
        collection = db.collection("replies")
        vectors = _unit_rows(max(sizes), 1)
        queries = _unit_rows(requests_per_size, 2)
        for size in sorted(sizes):
            while written < size:
                batch = db.batch()
                for i in range(written, min(size, written + 400)):
                    batch.set(collection.document(str(i)), {"text": f"reply {i}", "embedding": Vector(vectors[i].tolist())})
                batch.commit()
                written = min(size, written + 400)
            times = []
            for query in queries:
                started = time.perf_counter()
                list(collection.find_nearest("embedding", Vector(query.tolist()), distance_measure=DistanceMeasure.COSINE, limit=k).stream())
                times.append((time.perf_counter() - started) * 1000)
            results.append({"replies": size, "p50_ms": statistics.median(times), "p90_ms": float(np.percentile(times, 90))})
        return results
    finally:
        os.killpg(process.pid, 9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replies", type=int, default=450_000, help="the whole reply corpus (both languages)")
    parser.add_argument("--firestore-sizes", default="1000,5000,20000")
    parser.add_argument("--port", type=int, default=8990)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.firestore_sizes.split(",") if s]
    local = [in_scorer(n) for n in sorted({*sizes, args.replies})]
    remote = {r["replies"]: r for r in firestore(sizes, args.port)}
    print(f"top {K} by meaning, {DIMENSION}-d unit vectors, {REQUESTS} requests in the scorer, 30 per size on Firestore")
    print(f"{'replies':>8} {'scorer p50':>11} {'p90':>7} {'table MiB':>10} {'firestore p50':>14} {'p90':>8} {'ratio':>7}")
    for row in local:
        fs_row = remote.get(row["replies"])
        fs_text = f"{fs_row['p50_ms']:>14.1f} {fs_row['p90_ms']:>8.1f} {fs_row['p50_ms'] / row['p50_ms']:>6.0f}x" if fs_row else f"{'-':>14} {'-':>8} {'-':>7}"
        print(f"{row['replies']:>8} {row['p50_ms']:>11.2f} {row['p90_ms']:>7.2f} {row['table_mib']:>10.1f} {fs_text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
