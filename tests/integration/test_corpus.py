"""The corpus pipeline against the emulators: the generated filter on the local
BigQuery, and workers that lease shard tasks, survive a SIGKILL and redeliveries."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from jobs.corpus import pipeline, reference, rules as rules_lib, shards, sources
from shared.messaging import queues
from shared.stores import decode_candidates
from tests.support import eventually

EDGE_ROWS = [
    # (text, reply): each exercises a rule, or its absence
    ("ＦＵＣＫ this weather", "ok", "en"),
    ("天気はどう？", "ｸｿ暑いよ", "ja"),
    ("hey @someone look", "sure", "en"),
    ("write to me at a@b.com about cats", "will do", "en"),
    ("see https://example.com for cats", "thanks", "en"),
    ("cats are #blessed", "true", "en"),
    ("猫 ＃かわいい", "ほんと", "ja"),
    ("cats", "x" * 200, "en"),
    ("it's a \\ backslash, 'quoted' cat", "Don't \"quote\" me", "en"),
    ("Cats ARE great", "Indeed", "en"),
    ("cats are great", "INDEED", "en"),
]


def edge_rows() -> list[dict]:
    rows = []
    for i, (text, reply, lang) in enumerate(EDGE_ROWS):
        rows += sources.Pair(f"edge:{i:02d}", text, reply, lang, "test").rows() or [
            {"post_id": f"edge:{i:02d}", "keyword": "none", "text": text, "reply_text": reply, "lang": lang,
             "source": "test", "created_at": None}
        ]
    return rows


@pytest.fixture(scope="module")
def dataset(stack, clients, settings):
    """A dataset of its own with a posts table, as the stack provisions it."""
    import uuid

    from google.cloud import bigquery

    from shared import schemas

    name = f"corpus_{uuid.uuid4().hex[:8]}"
    clients.bigquery.create_dataset(name)
    table = bigquery.Table(f"{settings.project}.{name}.posts", schema=schemas.bigquery_schema("posts"))
    table.time_partitioning = bigquery.TimePartitioning(field="created_at")
    clients.bigquery.create_table(table)
    return pipeline.Tables(settings.project, name)


def test_the_generated_filter_on_the_local_bigquery_equals_the_python_reference(clients, dataset):
    rules = rules_lib.load("v1")
    rows = list(sources.rows(sources.nagonbot_pairs())) + list(sources.rows(sources.chitchat_pairs(limit=150)))
    rows += edge_rows()
    assert pipeline.load_posts(clients.bigquery, dataset, rows) == len(rows)

    counts = pipeline.filter_posts(clients.bigquery, dataset, rules)

    kept = {
        (r["post_id"], r["keyword"])
        for r in clients.bigquery.query(f"SELECT post_id, keyword FROM `{dataset.clean}`").result()
    }
    assert kept == {(r["post_id"], r["keyword"]) for r in reference.clean(rules, rows)}
    assert +counts == reference.counts(rules, rows)
    # Every rule had something to do, so the equality above means something.
    assert all(counts[name] > 0 for name in rules.rule_names()), counts


def test_reloading_the_posts_replaces_them(clients, dataset):
    rows = edge_rows()
    pipeline.load_posts(clients.bigquery, dataset, rows)
    pipeline.load_posts(clients.bigquery, dataset, rows)
    count = next(iter(clients.bigquery.query(f"SELECT COUNT(*) AS n FROM `{dataset.posts}`").result()))["n"]
    assert count == len(rows)


# ----- workers ----------------------------------------------------------------
SHARDS = 4
ACK_DEADLINE_S = 10


@pytest.fixture(scope="module")
def corpus_rows():
    return list(sources.rows(sources.nagonbot_pairs())) + list(sources.rows(sources.chitchat_pairs(limit=600)))


@pytest.fixture
def queue(stack, clients, settings, unique):
    """A task topic and leased pull subscription of this test's own."""
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    topic, subscription = f"{unique}-tasks", f"{unique}-workers"
    queues.create_task_queue(clients.publisher, subscriber, settings.project, topic, subscription, ACK_DEADLINE_S)
    subscriber.close()
    return clients.publisher.topic_path(settings.project, topic), subscription


def publish_shards(clients, topic_path, rows, folder: Path, run_id: str) -> list[shards.ShardTask]:
    urls = shards.ShardStore(str(folder)).write(run_id, shards.partition(rows, SHARDS))
    parts = shards.partition(rows, SHARDS)
    tasks = [shards.ShardTask(run_id=run_id, shard=i, uri=u, rows=len(parts[i])) for i, u in urls.items()]
    pipeline.publish_tasks(clients.publisher, topic_path, tasks)
    return tasks


def collection_contents(clients, collection: str) -> dict[str, dict]:
    docs = {}
    for snapshot in clients.firestore.collection(collection).stream():
        data = snapshot.to_dict()
        docs[snapshot.id] = {**{k: data[k] for k in ("keyword", "lang", "content_hash")}, "candidates": decode_candidates(data)}
    return docs


def run_workers(clients, queue, rows, folder, run_id, collection, count=1, extra=()):
    topic_path, subscription = queue
    tasks = publish_shards(clients, topic_path, rows, folder, run_id)
    args = ["--subscription", subscription, "--candidates-collection", collection, *extra]
    workers = pipeline.start_workers(count, args)
    try:
        done = pipeline.wait_for_shards(clients.firestore, run_id, tasks, workers, timeout_s=120)
    finally:
        workers.stop()
    return tasks, done


def test_a_worker_killed_mid_shard_loses_nothing(clients, queue, corpus_rows, tmp_path, unique):
    # Undisturbed: one worker, every shard.
    run_workers(clients, queue, corpus_rows, tmp_path, f"{unique}-calm", f"{unique}-calm", count=1)
    undisturbed = collection_contents(clients, f"{unique}-calm")
    assert len(undisturbed) > 100

    # Disturbed: worker 0 leases a shard, writes its first small batch, pauses
    # (holding the lease past its deadline: the keeper extends it), and is
    # killed. Worker 1 finishes everything, the killed shard once its lease
    # runs out.
    topic_path, subscription = queue
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    tasks = publish_shards(clients, topic_path, corpus_rows, tmp_path, f"{unique}-kill")
    victim_args = ["--subscription", subscription, "--candidates-collection", f"{unique}-kill",
                   "--write-batch-size", "5", "--drill-pause-s", "60"]
    victim = pipeline.start_workers(1, victim_args, log_dir=log_dir, name_prefix="victim")
    victim_log = log_dir / "victim-0.log"
    survivor = None
    try:
        assert eventually(lambda: "drill pause" in victim_log.read_text(), timeout=60), victim_log.read_text()
        time.sleep(ACK_DEADLINE_S * 1.5)  # past one deadline: only lease extension keeps the task
        partial = collection_contents(clients, f"{unique}-kill")
        assert 0 < len(partial) < len(undisturbed)
        survivor = pipeline.start_workers(
            1, ["--subscription", subscription, "--candidates-collection", f"{unique}-kill"], name_prefix="survivor"
        )
        victim.processes[0].send_signal(signal.SIGKILL)
        victim.processes[0].wait()
        done = pipeline.wait_for_shards(clients.firestore, f"{unique}-kill", tasks, survivor, timeout_s=120)
    finally:
        victim.stop()
        if survivor is not None:
            survivor.stop()
    assert {d["worker"] for d in done} == {"survivor-0"}
    assert collection_contents(clients, f"{unique}-kill") == undisturbed
    assert "finished shard" not in victim_log.read_text()


def test_a_redelivered_shard_or_a_rerun_changes_nothing(clients, queue, corpus_rows, tmp_path, unique):
    collection = f"{unique}-again"
    _, first = run_workers(clients, queue, corpus_rows, tmp_path, f"{unique}-1", collection, count=2)
    before = {s.id: s.update_time for s in clients.firestore.collection(collection).stream()}
    assert sum(d["written"] for d in first) == len(before) > 0

    _, second = run_workers(clients, queue, corpus_rows, tmp_path, f"{unique}-2", collection, count=2)

    assert sum(d["written"] for d in second) == 0
    assert {s.id: s.update_time for s in clients.firestore.collection(collection).stream()} == before


def test_the_scorer_reads_what_the_workers_write(clients, queue, corpus_rows, tmp_path, unique):
    from shared.stores import CandidateStore
    from shared.text import keyword_doc_id

    collection = f"{unique}-format"
    run_workers(clients, queue, corpus_rows, tmp_path, unique, collection)
    docs = collection_contents(clients, collection)
    keyword = next(d["keyword"] for d in docs.values() if d["lang"] == "ja")

    class Renamed:  # CandidateStore reads "candidates": point it at this test's collection
        def __init__(self, db):
            self._db = db

        def collection(self, name):
            return self._db.collection(collection)

        def get_all(self, refs, **options):
            return self._db.get_all(refs, **options)

    loaded = CandidateStore(Renamed(clients.firestore)).load([keyword])
    assert [c.to_dict() for c in loaded] == docs[keyword_doc_id(keyword)]["candidates"]


def test_a_malformed_task_goes_to_the_dead_letter_topic(clients, queue, pull, unique, settings):
    topic_path, subscription = queue
    dead = pull(f"{unique}-tasks-dead")
    clients.publisher.publish(topic_path, b"not a task").result()
    workers = pipeline.start_workers(1, ["--subscription", subscription])
    try:
        messages = dead.read(expect=1, timeout=30)
    finally:
        workers.stop()
    assert [m.data for m in messages] == [b"not a task"]
    assert "not JSON" in messages[0].attributes["dead_letter_reason"]


# ----- workers on Cloud Run ----------------------------------------------------
def test_a_run_on_cloud_run_executes_the_deployed_job_with_a_worker_per_shard_up_to_the_cap(
    settings, clients, dataset, queue, tmp_path, unique
):
    """The coordinator executes the ``corpus-worker`` job that ``make deploy``
    creates, through google-cloud-run against the local stand-in for the Cloud
    Run Admin API, which runs each task as a process: the backlog (shards)
    sets the task count, capped by ``--workers``."""
    from infra.local.run_jobs_server import RunJobsServer
    from jobs.workers import CloudRunJob
    from tests.conftest import TEST_PORT_BASE

    _, subscription = queue
    server = RunJobsServer(TEST_PORT_BASE + 290, log_dir=tmp_path).start()
    cap = 3
    try:
        options = pipeline.RunOptions(
            tables=dataset,
            rules=rules_lib.load("v1"),
            shard_url=str(tmp_path / "shards"),
            rows_per_shard=100,  # several shards: more than the cap
            subscription=subscription,
            candidates_collection=f"{unique}-cloud",
            workers=cap,
            launcher=CloudRunJob.connect(settings.project, "asia-northeast1", "corpus-worker", server.url),
            log_dir=tmp_path,
            progress=False,
        )
        summary = pipeline.run(clients, options, sources.chitchat_pairs(limit=300))
    finally:
        server.stop()

    assert summary.shards > cap and summary.candidates > 0
    [run] = server.runs
    assert run["job"] == "corpus-worker" and run["overrides"]["taskCount"] == cap
    args = run["overrides"]["containerOverrides"][0]["args"]
    assert args[:3] == ["-m", "jobs.corpus", "worker"]
    assert args[args.index("--subscription") + 1] == subscription
    assert args[args.index("--candidates-collection") + 1] == f"{unique}-cloud"
    assert "--idle-exit-s" in args  # a task ends once the queue stays empty
    assert len(list(clients.firestore.collection(f"{unique}-cloud").limit(1).stream())) == 1


def test_the_workers_follow_the_backlog():
    from jobs.workers import workers_for

    assert [workers_for(waiting, cap=4) for waiting in (0, 1, 3, 4, 9)] == [0, 1, 3, 4, 4]
    assert pipeline.shard_count(rows=4001, rows_per_shard=2000) == 3
    assert pipeline.shard_count(rows=0, rows_per_shard=2000) == 1
