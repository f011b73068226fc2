"""The pipeline's steps against BigQuery and Pub/Sub, and the coordinator.

    load -> filter -> export shards -> publish tasks -> N workers -> summary

Each step is a function taking its clients, so tests run steps alone against
the emulators; ``run`` strings them together for ``make corpus``.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from jobs.corpus import rules as rules_lib
from jobs.corpus import shards as shards_lib
from jobs.corpus import sources, sql
from jobs import workers as workers_lib
from jobs.corpus.store import RunProgress
from shared.messaging import topology

REPO = Path(__file__).resolve().parents[2]
POSTS_TABLE = "posts"
CLEAN_TABLE = "clean_posts"
EXPORT_PAGE_SIZE = 5000
# How often the coordinator checks whether the workers are done (a count:
# one read), and reads their markers for the progress bars. Checked every
# 0.5 s, the end was seen up to half a second late: a sixth of the small
# benchmark's workers' phase (about 3 s).
POLL_S = 0.1
PROGRESS_S = 0.5


@dataclass(frozen=True)
class Tables:
    project: str
    dataset: str

    def table(self, name: str) -> str:
        return f"{self.project}.{self.dataset}.{name}"

    @property
    def posts(self) -> str:
        return self.table(POSTS_TABLE)

    @property
    def clean(self) -> str:
        return self.table(CLEAN_TABLE)


# ----- 1. load ---------------------------------------------------------------
def load_posts(bigquery, tables: Tables, rows: Iterable[dict]) -> int:
    """Replaces ``posts`` with ``rows``, in one load job from a
    newline-delimited JSON file (never one insert per row)."""
    from google.cloud import bigquery as bq

    from shared import schemas

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "posts.jsonl"
        count = sources.write_ndjson(rows, path)
        config = bq.LoadJobConfig(
            schema=schemas.bigquery_schema(POSTS_TABLE),
            source_format=bq.SourceFormat.NEWLINE_DELIMITED_JSON,
            write_disposition=bq.WriteDisposition.WRITE_TRUNCATE,
        )
        with open(path, "rb") as file:
            bigquery.load_table_from_file(file, tables.posts, job_config=config).result()
    return count


# ----- 2. filter -------------------------------------------------------------
def filter_posts(bigquery, tables: Tables, rules: rules_lib.Rules) -> Counter[str]:
    """Writes ``clean_posts`` with the generated query; returns the rows per
    outcome (``kept`` and each rule's name)."""
    counts = Counter({name: 0 for name in ["kept", *rules.rule_names()]})
    for row in bigquery.query(sql.filter_query(rules, tables.posts, tables.clean)).result():
        counts[row["outcome"]] = row["n"]
    return counts


# ----- 3. shards and tasks ---------------------------------------------------
def export_shards(bigquery, tables: Tables, store: shards_lib.ShardStore, run_id: str, rows_per_shard: int) -> list[shards_lib.ShardTask]:
    """Reads ``clean_posts`` page by page, cuts it into shards by keyword and
    writes them; returns one task per non-empty shard."""
    total = next(iter(bigquery.query(f"SELECT COUNT(*) AS n FROM {sql.quote_table(tables.clean)}").result()))["n"]
    count = shard_count(total, rows_per_shard)
    columns = ", ".join(sql.COLUMNS)
    result = bigquery.query(
        f"SELECT {columns} FROM {sql.quote_table(tables.clean)} ORDER BY keyword, post_id"
    ).result(page_size=EXPORT_PAGE_SIZE)
    parts = shards_lib.partition(({k: _jsonable(v) for k, v in row.items()} for row in result), count)
    urls = store.write(run_id, parts)
    return [shards_lib.ShardTask(run_id=run_id, shard=i, uri=url, rows=len(parts[i])) for i, url in urls.items()]


def _jsonable(value):
    return value.isoformat() if isinstance(value, dt.datetime) else value


def publish_tasks(publisher, topic_path: str, tasks: Iterable[shards_lib.ShardTask]) -> int:
    """Largest shards first: the queue hands them out in about that order, so
    the last shard any worker takes is a small one and workers finish together."""
    futures = [publisher.publish(topic_path, task.to_json()) for task in sorted(tasks, key=lambda t: -t.rows)]
    for future in futures:
        future.result(timeout=60)
    return len(futures)


# ----- 4. workers ------------------------------------------------------------
def worker_args(args: Iterable[str]) -> list[str]:
    """``python <these>`` runs a shard worker (the batch image's entrypoint is python)."""
    return ["-m", "jobs.corpus", "worker", *args]


def start_workers(
    count: int, args: list[str], log_dir: Path | None = None, name_prefix: str = "worker"
) -> workers_lib.LocalProcesses:
    """``count`` local worker processes (``<name_prefix>-<i>``), output in ``log_dir``."""
    return workers_lib.LocalLauncher(log_dir, name_prefix).start(count, worker_args(args))


def shard_count(rows: int, rows_per_shard: int) -> int:
    return max(1, math.ceil(rows / rows_per_shard))


class WorkersGone(RuntimeError):
    pass


def wait_for_shards(
    db,
    run_id: str,
    tasks: list[shards_lib.ShardTask],
    workers: workers_lib.Workers | None = None,
    timeout_s: float = 3600.0,
    on_progress: Callable[[list[dict]], None] | None = None,
) -> list[dict]:
    """Waits until every task's shard is done; returns the done markers.

    Completion is polled often and cheaply (a count of the markers: one
    read, however many there are), so the end of the run is seen within
    ``POLL_S``; the markers themselves are read for the progress display
    every ``PROGRESS_S`` and once at the end."""
    progress = RunProgress(db, run_id)
    wanted = {task.shard for task in tasks}
    deadline = time.monotonic() + timeout_s
    shown_at = 0.0
    while True:
        finished = progress.count() >= len(wanted)
        if finished or (on_progress and time.monotonic() - shown_at >= PROGRESS_S):
            done = [d for d in progress.done() if d["shard"] in wanted]
            shown_at = time.monotonic()
            if on_progress:
                on_progress(done)
            if len(done) == len(wanted):
                return done
        if workers and not workers.running():
            raise WorkersGone(f"every worker exited with {len(wanted) - progress.count()} shards left")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(wanted) - progress.count()} shards not done after {timeout_s:.0f}s")
        time.sleep(POLL_S)


# ----- the whole run ---------------------------------------------------------
@dataclass
class Summary:
    run_id: str
    rows_in: int = 0
    outcomes: Counter = field(default_factory=Counter)
    shards: int = 0
    rows_out: int = 0
    keywords: int = 0
    candidates: int = 0
    documents_changed: int = 0
    langs: Counter = field(default_factory=Counter)
    seconds: dict = field(default_factory=dict)
    # Per worker, seconds spent building and writing shards: against the
    # workers' phase, how much of it each worker was busy.
    worker_seconds: dict = field(default_factory=dict)

    def render(self) -> str:
        dropped = {k: v for k, v in self.outcomes.items() if k != "kept"}
        lines = [
            f"corpus run {self.run_id}",
            f"  rows in            {self.rows_in}",
            *(f"  filtered {name + ':':<11}{n}" for name, n in dropped.items()),
            f"  rows kept          {self.outcomes.get('kept', 0)}",
            f"  shards             {self.shards} ({self.rows_out} rows)",
            f"  keywords           {self.keywords}",
            f"  candidates written {self.candidates} ({self.documents_changed} documents changed)",
            "  time               " + ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items()),
            "  keywords by lang   " + ", ".join(f"{lang} {n}" for lang, n in sorted(self.langs.items())),
        ]
        return "\n".join(lines)


def new_run_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


@dataclass
class RunOptions:
    tables: Tables
    rules: rules_lib.Rules
    shard_url: str
    rows_per_shard: int = 2000
    subscription: str = topology.pull_subscription(topology.CORPUS_TASKS).name
    candidates_collection: str = "candidates"
    workers: int = 2  # at most; a worker per shard waiting up to this many
    # Where they run: None for processes on this machine, or a Cloud Run job
    # (jobs.workers.CloudRunJob).
    launcher: workers_lib.Launcher | None = None
    log_dir: Path = REPO / ".run" / "corpus-logs"
    progress: bool = True
    on_step: Callable[[str], None] | None = None  # called as each step ends (bench/corpus.py samples CPU there)


def run(clients, options: RunOptions, pairs: Iterable[sources.Pair] | None) -> Summary:
    """The whole pipeline; ``pairs`` None keeps the posts table as it is."""
    from tqdm import tqdm

    run_id = new_run_id()
    summary = Summary(run_id=run_id)
    started = mark = time.monotonic()

    def timed(step: str) -> None:
        nonlocal mark
        now = time.monotonic()
        summary.seconds[step] = now - mark
        mark = now
        if options.on_step:
            options.on_step(step)

    log_dir = Path(options.log_dir) / run_id
    log_dir.mkdir(parents=True, exist_ok=True)
    launcher = options.launcher or workers_lib.LocalLauncher(log_dir)
    worker_options = ["--subscription", options.subscription, "--candidates-collection", options.candidates_collection]
    workers = None
    try:
        if pairs is not None:
            summary.rows_in = load_posts(clients.bigquery, options.tables, sources.rows(pairs))
            timed("load")
        summary.outcomes = filter_posts(clients.bigquery, options.tables, options.rules)
        if pairs is None:
            summary.rows_in = sum(summary.outcomes.values())
        timed("filter")
        # The backlog is known now: a worker per shard, up to options.workers.
        # They start before the export so their start-up (the client
        # libraries' imports) overlaps it, and wait on the queue.
        shards_waiting = shard_count(summary.outcomes.get("kept", 0), options.rows_per_shard)
        workers = launcher.start(workers_lib.workers_for(shards_waiting, options.workers), worker_args(worker_options))
        tasks = export_shards(
            clients.bigquery, options.tables, shards_lib.ShardStore(options.shard_url, lambda: clients.storage), run_id, options.rows_per_shard
        )
        summary.shards, summary.rows_out = len(tasks), sum(t.rows for t in tasks)
        subscriber = clients.subscriber
        subscription = subscriber.get_subscription(
            request={"subscription": subscriber.subscription_path(clients.settings.project, options.subscription)}
        )
        publish_tasks(clients.task_publisher, subscription.topic, tasks)
        timed("export")

        shard_bar = tqdm(total=len(tasks), desc="shards", unit="shard", disable=not options.progress, position=0)
        row_bar = tqdm(total=summary.rows_out, desc="rows  ", unit="row", disable=not options.progress, position=1)

        def show(done: list[dict]) -> None:
            shard_bar.update(len(done) - shard_bar.n)
            row_bar.update(sum(d["rows"] for d in done) - row_bar.n)

        try:
            done = wait_for_shards(clients.firestore, run_id, tasks, workers, on_progress=show)
            timed("workers")  # every shard is done: stopping the idle workers is not their work
        except WorkersGone as error:
            logs = log_dir if options.launcher is None else "the job's executions in Cloud Logging"
            raise WorkersGone(f"{error}; worker logs in {logs}") from None
        finally:
            shard_bar.close()
            row_bar.close()
    finally:
        if workers is not None:
            workers.stop()
    timed("stop")
    for marker in done:
        summary.langs.update(marker["keywords"])
    summary.keywords = sum(summary.langs.values())
    summary.candidates = sum(d["candidates"] for d in done)
    summary.documents_changed = sum(d["written"] for d in done)
    for marker in done:
        steps = summary.worker_seconds.setdefault(marker["worker"], Counter())
        steps.update(marker.get("seconds", {}))
    summary.seconds["total"] = time.monotonic() - started
    return summary
