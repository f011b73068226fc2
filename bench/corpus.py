"""Corpus pipeline throughput: 1 worker against 2, and the SQL filter against
plain Python, measured in the same run.

- end to end: the whole pipeline (load -> filter -> shards -> workers ->
  Firestore) on the same sample, once with 1 worker and once with 2, each
  into a candidates collection of its own (so neither run finds the other's
  documents and skips writing them), after one uncounted warm-up run. Rows per second = posts rows in / total
  time; the workers' phase alone is reported too, since that is the part
  more workers can speed up. ``scaling = 2 workers / 1 worker``.
- filter: the generated query (one BigQuery job) against the plain-Python
  reference filter over the same rows (``ratio = SQL / Python``). On the local
  BigQuery, ``NORMALIZE_AND_CASEFOLD`` is a Python function called row by row
  inside DuckDB, so the SQL side is slow here in a way BigQuery is not.

The bench launcher (``infra/local/bench_stack.py``) starts a stack of its own
on ``--port-base`` (8920 by default; ``.run/bench-<base>``) and stops it, or
uses a running one with ``--env .run/stack.env``.

    make bench-corpus
    PYTHONPATH=. .venv/bin/python -m infra.local.bench_stack corpus --sample 3000 [--json]

The numbers compare runs on one machine: the emulators, the workers and this
process share its cores (2 on the project's machines), which caps scaling.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))

from procs import children, cpu_s, process_cpu_s  # noqa: E402

from jobs.corpus import pipeline, reference, rules as rules_lib, sources  # noqa: E402

if TYPE_CHECKING:
    from running_stack import AttachOrStartStack


def worker_cpu_s() -> dict[str, float]:
    """CPU seconds of each live corpus worker this process started (``jobs.corpus worker``)."""
    found = {}
    for pid in children(os.getpid()):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"worker" in command and b"jobs.corpus" in command:
            name = command[command.index(b"--name") + 1].decode() if b"--name" in command else str(pid)
            found[name] = process_cpu_s(pid)
    return found


class PhaseCpu:
    """CPU seconds each process spent in the workers' phase: the workers, the
    stack's services and this process (the coordinator, polling for progress)."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.marks: dict[str, dict[str, float]] = {}

    def sample(self) -> dict[str, float]:
        found = {**worker_cpu_s(), "coordinator": sum(os.times()[:2])}
        if self.stack is not None:
            found.update(cpu_s(self.stack.pids))
        return found

    def on_step(self, step: str) -> None:
        if step in ("export", "workers"):
            self.marks[step] = self.sample()

    def used(self) -> dict[str, float]:
        start, end = self.marks.get("export", {}), self.marks.get("workers", {})
        return {name: round(end[name] - start.get(name, 0.0), 2) for name in sorted(end) if name != "web"}


def measure(clients, settings, rows_pairs, workers: int, folder: Path, stack=None) -> dict:
    tables = pipeline.Tables(settings.project, "zatsudan")
    cpu = PhaseCpu(stack)
    options = pipeline.RunOptions(
        tables=tables,
        rules=rules_lib.load(),
        shard_url=str(folder / "shards"),
        rows_per_shard=1000,
        candidates_collection=f"bench-{uuid.uuid4().hex[:8]}",
        workers=workers,
        log_dir=folder / "logs",
        progress=False,
        on_step=cpu.on_step,
    )
    summary = pipeline.run(clients, options, rows_pairs)
    return {
        "workers": workers,
        "rows_in": summary.rows_in,
        "rows_to_workers": summary.rows_out,
        "shards": summary.shards,
        "seconds": {k: round(v, 2) for k, v in summary.seconds.items()},
        "rows_per_s": round(summary.rows_in / summary.seconds["total"], 1),
        "worker_rows_per_s": round(summary.rows_out / summary.seconds["workers"], 1),
        "workers_phase_cpu_s": cpu.used(),
        "worker_busy_s": {w: {k: round(v, 2) for k, v in sorted(steps.items())} for w, steps in sorted(summary.worker_seconds.items())},
    }


def filter_times(clients, settings, rows: list[dict], repeats: int) -> dict:
    rules = rules_lib.load()
    tables = pipeline.Tables(settings.project, "zatsudan")
    pipeline.load_posts(clients.bigquery, tables, rows)
    sql_s, python_s = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        sql_counts = pipeline.filter_posts(clients.bigquery, tables, rules)
        sql_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        python_counts = reference.counts(rules, rows)
        python_s.append(time.perf_counter() - started)
    assert +sql_counts == python_counts, (sql_counts, python_counts)
    best_sql, best_python = min(sql_s), min(python_s)
    return {
        "rows": len(rows),
        "sql_s": round(best_sql, 3),
        "python_s": round(best_python, 3),
        "sql_over_python": round(best_sql / best_python, 1),
        "same_result": True,
    }


def main(argv: list[str] | None, stack_for: AttachOrStartStack) -> int:
    """Runs on the stack ``stack_for`` attaches or starts (the bench launcher's)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=3000, help="chitchat-dataset pairs (plus all of nagonbot)")
    parser.add_argument("--filter-repeats", type=int, default=2)
    parser.add_argument("--port-base", type=int, default=8920)
    parser.add_argument("--env", help="use a running stack (its stack.env) instead of starting one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with stack_for(args.env, args.port_base) as stack:
        from shared import config
        from shared.clients import Clients

        settings = config.load()
        clients = Clients(settings)

        def sample():
            return [*sources.nagonbot_pairs(), *sources.chitchat_pairs(limit=args.sample)]

        with tempfile.TemporaryDirectory() as folder:
            # Not counted: warms the keyword cache, DuckDB and the emulators.
            measure(clients, settings, sample(), 1, Path(folder), stack)
            runs = [measure(clients, settings, sample(), workers, Path(folder), stack) for workers in (1, 2)]
        rows = list(sources.rows(sample()))
        result = {
            "sample_pairs": len(sample()),
            "runs": runs,
            "scaling_end_to_end": round(runs[1]["rows_per_s"] / runs[0]["rows_per_s"], 2),
            "scaling_workers_phase": round(runs[1]["worker_rows_per_s"] / runs[0]["worker_rows_per_s"], 2),
            "filter": filter_times(clients, settings, rows, args.filter_repeats),
        }

    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"corpus pipeline, {result['sample_pairs']} pairs ({runs[0]['rows_in']} posts rows)")
        for run in runs:
            print(
                f"  {run['workers']} worker(s): {run['rows_per_s']:>8.1f} rows/s end to end, "
                f"{run['worker_rows_per_s']:>8.1f} rows/s in the workers' phase   {run['seconds']}"
            )
            phase = run["seconds"]["workers"]
            print(f"    CPU in the workers' phase ({phase:.2f} s, 2 cores = {2 * phase:.2f} CPU-s): "
                  + ", ".join(f"{name} {seconds}" for name, seconds in run["workers_phase_cpu_s"].items()))
            print("    busy (seconds building and writing shards): "
                  + ", ".join(f"{w} {steps}" for w, steps in run["worker_busy_s"].items()))
        print(f"  scaling (2 / 1): end to end x{result['scaling_end_to_end']}, workers' phase x{result['scaling_workers_phase']}")
        f = result["filter"]
        print(
            f"  filter over {f['rows']} rows: SQL (local BigQuery) {f['sql_s']}s, Python reference {f['python_s']}s, "
            f"SQL/Python x{f['sql_over_python']} (same result: {f['same_result']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit("needs a local stack: run it through the bench launcher (make bench-corpus)")
