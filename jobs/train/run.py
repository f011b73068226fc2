"""Tune in parallel: queue trials, run workers, pick the best, publish it.

    python -m jobs.train.run --trials 4 --workers 2 [--env .run/stack.env]

1. Makes sure the queue exists: the trials topic, its dead-letter topic, and
   the workers' pull subscription (ack deadline = lease), as
   shared/messaging/topology.py names them.
2. Proposes ``--trials`` hyperparameter sets, records each in
   ``trials/{id}`` and publishes it.
3. Starts a worker per trial, at most ``--workers``: local processes kept
   alive (a worker that dies, killed or preempted, is replaced), or with
   ``--cloud-run-job`` one execution of the ``train-worker`` Cloud Run job
   (which retries a failed task). A dead worker's trial comes back to the
   queue when its lease lapses, to resume from its last checkpoint.
4. When every trial is done, chooses the best on validation recall@1 of 10
   and publishes it (``jobs/train/publish.py``), unless ``--no-publish``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jobs import ENV_HELP, connect
from jobs import workers as workers_lib
from jobs.train.data import DataSpec
from jobs.train.trials import TrialRecords, propose
from shared.messaging import queues, topology

if TYPE_CHECKING:
    from shared.clients import Clients

REPO = Path(__file__).resolve().parents[2]
POLL_S = 1.0


def ensure_queue(clients: Clients, topic: str) -> str:
    """Creates what is missing; returns the subscription path."""
    return queues.create_task_queue(
        clients.publisher, clients.subscriber, clients.settings.project, topic, topology.workers_subscription(topic), topology.LEASE_S
    )


def best_trial(records: list[dict]) -> dict | None:
    """Highest validation recall among finished trials; ties go to the first."""
    done = [r for r in records if r.get("status") == "done"]
    return max(done, key=lambda r: (r.get("val_recall_at_1") or 0.0, -int(r["trial_id"].rsplit("-", 1)[1]))) if done else None


def new_run_id() -> str:
    return "run" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S")


class WorkerPool:
    """Keeps ``size`` worker processes alive (a dead one is replaced)."""

    def __init__(self, size: int, env: dict[str, str], log_dir: Path) -> None:
        self.size, self.env, self.log_dir = size, env, log_dir
        self.processes: list[subprocess.Popen] = []
        self.replaced = 0

    def _start(self) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"worker-{len(self.processes) + self.replaced}.log", "ab")
        return subprocess.Popen(
            [sys.executable, "-m", "jobs.train.worker"], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def keep_alive(self) -> None:
        alive = [p for p in self.processes if p.poll() is None]
        for process in self.processes:
            if process.poll() is not None:
                print(f"worker pid {process.pid} exited with {process.returncode}: starting another", flush=True)
                self.replaced += 1
        self.processes = alive
        while len(self.processes) < self.size:
            self.processes.append(self._start())

    def stop(self) -> None:
        workers_lib.stop_processes(self.processes)


@dataclass
class CloudRunPool:
    """One execution of the train-worker job: Cloud Run retries a failed task
    (the job's --max-retries); an execution that ends leaves nothing to keep alive."""

    execution: workers_lib.CloudRunExecution
    replaced: int = 0

    def keep_alive(self) -> None:
        if not self.execution.running():
            raise WorkersGone("the Cloud Run execution ended with trials left: see its logs in Cloud Logging")

    def stop(self) -> None:
        self.execution.stop()


class WorkersGone(RuntimeError):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="at most this many: one per trial waiting")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--chitchat-conversations", type=int, default=DataSpec.chitchat_conversations)
    parser.add_argument("--rpc-dialogues", type=int, default=None, help="RealPersonaChat dialogues (default: all; 0: none)")
    parser.add_argument("--seed", type=int, default=DataSpec.seed, help="split and search seed")
    parser.add_argument("--timeout-s", type=float, default=3600)
    parser.add_argument("--no-publish", action="store_true")
    parser.add_argument("--env", help=ENV_HELP)
    workers_lib.add_launcher_arguments(parser, "train-worker")
    args = parser.parse_args(argv)
    from shared.messaging.publish import Publisher

    settings, clients = connect(args.env)
    records = TrialRecords(clients.firestore)
    run_id = new_run_id()
    if abandoned := records.abandon_others(run_id):
        print(f"abandoned {len(abandoned)} unfinished trial(s) of earlier runs: workers skip them", flush=True)
    ensure_queue(clients, settings.topics.train_trials)
    data = DataSpec(args.chitchat_conversations, args.seed, real_persona_chat_dialogues=args.rpc_dialogues)
    trials = propose(run_id, args.trials, args.epochs, data, seed=args.seed)
    publisher = Publisher(clients.publisher, settings.project)
    for trial in trials:
        records.queued(trial)
        publisher.publish(settings.topics.train_trials, trial.to_json(), attributes={"trial_id": trial.trial_id})
    print(f"{run_id}: {len(trials)} trial(s) queued on {settings.topics.train_trials}, {args.workers} worker(s)", flush=True)

    # A worker per trial waiting, up to --workers: here, kept alive by the pool;
    # on Cloud Run, one execution whose failed tasks the job retries.
    count = workers_lib.workers_for(len(trials), args.workers)
    cloud_run_job = workers_lib.launcher_from_args(args, settings.project)
    if cloud_run_job:
        pool = CloudRunPool(cloud_run_job.start(count, ["-m", "jobs.train.worker"]))
    else:
        env = {**os.environ, "PYTHONPATH": str(REPO), "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
        pool = WorkerPool(count, env, REPO / ".run" / "train-logs" / run_id)
    deadline = time.monotonic() + args.timeout_s
    reported: dict[str, int] = {}
    try:
        while True:
            state = {r["trial_id"]: r for r in records.of_run(run_id)}
            for trial_id, record in sorted(state.items()):
                if reported.get(trial_id) != record.get("epochs_done"):
                    reported[trial_id] = record.get("epochs_done")
                    print(f"  {trial_id}: {record.get('status')} epoch {record.get('epochs_done')}/{args.epochs}"
                          f" val R@1/10 {record.get('val_recall_at_1', 0.0):.3f}", flush=True)
            if len(state) == len(trials) and all(r.get("status") == "done" for r in state.values()):
                break
            if time.monotonic() > deadline:
                print("error: timed out waiting for the trials", file=sys.stderr)
                return 1
            pool.keep_alive()
            time.sleep(POLL_S)
    except WorkersGone as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        pool.stop()

    finished = records.of_run(run_id)
    for record in sorted(finished, key=lambda r: r["trial_id"]):
        resumed = record.get("resumed_from_epoch")
        print(f"{record['trial_id']}: val R@1/10 {record['val_recall_at_1']:.3f} {record['hparams']}"
              + (f" (resumed from epoch {resumed})" if resumed else ""))
    best = best_trial(finished)
    print(f"best: {best['trial_id']} (val R@1/10 {best['val_recall_at_1']:.3f}); workers replaced: {pool.replaced}")
    if not args.no_publish:
        from jobs.train import model as model_lib
        from jobs.train.publish import publish_trial
        from shared.model_store import open_store

        model_lib.configure_threads(1)
        published = publish_trial(clients.firestore, open_store(settings.model_store, lambda: clients.storage), best)
        print(f"published {published['version']} -> models/current ({published['uri']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
