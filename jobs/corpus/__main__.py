"""Corpus pipeline: raw posts in BigQuery -> reply candidates in Firestore.

    python -m jobs.corpus run --env .run/stack.env --workers 2   # everything (make corpus)
    python -m jobs.corpus worker --env .run/stack.env            # one worker (production entry point)
    python -m jobs.corpus sql                                    # print the generated filter query
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jobs import ENV_HELP, connect
from jobs import workers as workers_lib
from jobs.corpus import pipeline, sources
from jobs.corpus import rules as rules_lib
from jobs.corpus import sql
from jobs.corpus.store import CANDIDATES_COLLECTION
from shared.messaging import topology

DEFAULT_SAMPLE = 5000  # pairs of each large source in the default run; --full for all
# The workers' pull subscription, as the topic table declares it.
DEFAULT_SUBSCRIPTION = topology.pull_subscription(topology.CORPUS_TASKS).name


def cmd_sql(args) -> int:
    rules = rules_lib.load(args.rules)
    tables = pipeline.Tables(args.project, args.dataset)
    print(sql.filter_query(rules, tables.posts, tables.clean))
    return 0


def cmd_worker(args) -> int:
    from jobs.corpus.worker import Worker, WorkerOptions, install_stop_handlers

    settings, clients = connect(args.env)
    subscriber = clients.subscriber
    path = subscriber.subscription_path(settings.project, args.subscription)
    # The lease length and the dead-letter topic are the subscription's own.
    subscription = subscriber.get_subscription(request={"subscription": path})
    options = WorkerOptions(
        subscription=path,
        dead_letter_topic=subscription.dead_letter_policy.dead_letter_topic
        or settings.topic_path(topology.dead_letter_topic(subscription.topic.rsplit("/", 1)[-1])),
        ack_deadline_s=subscription.ack_deadline_seconds or topology.LEASE_S,
        candidates_collection=args.candidates_collection,
        write_batch_size=args.write_batch_size,
        idle_exit_s=args.idle_exit_s,
        drill_pause_s=args.drill_pause_s,
    )
    worker = Worker(
        subscriber, clients.publisher, clients.firestore, options, name=args.name, storage=lambda: clients.storage
    )
    install_stop_handlers(worker)
    print(f"{worker.name}: pulling {path} (lease {options.ack_deadline_s}s)", flush=True)
    done = worker.run()
    print(f"{worker.name}: stopped after {done} shards", flush=True)
    subscriber.close()
    return 0


def cmd_run(args) -> int:
    settings, clients = connect(args.env)
    pairs = None if args.skip_load else sources.pairs(args.source or list(sources.SOURCES), None if args.full else args.sample)
    try:
        summary = pipeline.run(
            clients,
            pipeline.RunOptions(
                tables=pipeline.Tables(settings.project, args.dataset),
                rules=rules_lib.load(args.rules),
                shard_url=args.shard_url,
                rows_per_shard=args.rows_per_shard,
                subscription=args.subscription,
                candidates_collection=args.candidates_collection,
                workers=args.workers,
                launcher=workers_lib.launcher_from_args(args, settings.project),
                log_dir=Path(args.log_dir),
                progress=not args.no_progress,
            ),
            pairs,
        )
    except pipeline.WorkersGone as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(summary.render())
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m jobs.corpus", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="load, filter, shard, and build candidates with N workers")
    run.add_argument("--env", help=ENV_HELP)
    run.add_argument("--workers", type=int, default=2, help="at most this many: one per shard waiting")
    workers_lib.add_launcher_arguments(run, "corpus-worker")
    run.add_argument("--source", action="append", choices=sorted(sources.SOURCES), help="default: all")
    run.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, help="pairs taken from each large source (RealPersonaChat, chitchat-dataset)")
    run.add_argument("--full", action="store_true", help="all of every source (RealPersonaChat: 356,520 pairs; chitchat-dataset: 131,569)")
    run.add_argument("--skip-load", action="store_true", help="keep the posts table as it is")
    run.add_argument("--rules", default=rules_lib.DEFAULT_VERSION)
    run.add_argument("--dataset", default="zatsudan")
    run.add_argument("--shard-url", default=str(pipeline.REPO / ".run" / "corpus-shards"), help="path, file:// or gs://")
    run.add_argument("--rows-per-shard", type=int, default=2000)
    run.add_argument("--subscription", default=DEFAULT_SUBSCRIPTION)
    run.add_argument("--candidates-collection", default=CANDIDATES_COLLECTION)
    run.add_argument("--log-dir", default=str(pipeline.REPO / ".run" / "corpus-logs"))
    run.add_argument("--no-progress", action="store_true")
    run.set_defaults(func=cmd_run)

    worker = commands.add_parser("worker", help="lease shard tasks until stopped")
    worker.add_argument("--env", help=ENV_HELP)
    worker.add_argument("--name")
    worker.add_argument("--subscription", default=DEFAULT_SUBSCRIPTION)
    worker.add_argument("--candidates-collection", default=CANDIDATES_COLLECTION)
    worker.add_argument("--write-batch-size", type=int, default=400)
    worker.add_argument("--idle-exit-s", type=float, help="exit when the queue stays empty this long")
    worker.add_argument("--drill-pause-s", type=float, default=0.0, help="failure drills: pause mid-shard")
    worker.set_defaults(func=cmd_worker)

    show = commands.add_parser("sql", help="print the generated filter query")
    show.add_argument("--rules", default=rules_lib.DEFAULT_VERSION)
    show.add_argument("--project", default="zatsudan-local")
    show.add_argument("--dataset", default="zatsudan")
    show.set_defaults(func=cmd_sql)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
