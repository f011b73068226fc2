"""Training on the emulators: trials leased from Pub/Sub, checkpoints that
survive a killed worker, the parallel runner, and publishing a model.

Tiny models on chatterbot-corpus only (a few seconds an epoch); the real
run is ``make train``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from jobs.train.data import DataSpec
from jobs.train.model import HParams
from jobs.train.publish import LEXICAL_WEIGHTS
from jobs.train.run import ensure_queue
from jobs.train.trials import Trial, TrialRecords
from shared.model_store import LocalStore
from shared.messaging.publish import Publisher
from shared.ranking import Context
from shared.ranking.encoder_model import EncoderModel
from shared.ranking.ngrams import NgramConfig
from tests.conftest import REPO
from tests.support import eventually

pytestmark = pytest.mark.slow

TINY = dict(embedding_dim=16, hidden_dim=32, batch_size=64)
TINY_NGRAM = NgramConfig(buckets=4096, max_ids=64)
CHATTERBOT_ONLY = DataSpec(chitchat_conversations=0, real_persona_chat_dialogues=0)


@pytest.fixture
def training_env(stack, tmp_path, unique):
    """Environment for worker processes: this stack, a fresh store and queue."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "MODEL_STORE": str(tmp_path / "models"),
        "TRAIN_TRIALS_TOPIC": f"train-trials-{unique}",
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
    }


def start_worker(env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "jobs.train.worker"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_worker_killed_mid_trial_loses_at_most_one_epoch_and_the_trial_resumes_on_another(
    settings, clients, training_env, unique
):
    ensure_queue(clients, training_env["TRAIN_TRIALS_TOPIC"])
    # patience=0: no early stop, so all four epochs run whatever the recall does.
    trial = Trial(f"{unique}-0", unique, HParams(**TINY, epochs=4, patience=0), CHATTERBOT_ONLY, TINY_NGRAM)
    records = TrialRecords(clients.firestore)
    records.queued(trial)
    Publisher(clients.publisher, settings.project).publish(training_env["TRAIN_TRIALS_TOPIC"], trial.to_json())

    first = start_worker(training_env)
    try:
        progress = eventually(lambda: (records.get(trial.trial_id) or {}).get("epochs_done", 0), timeout=240, interval=0.5)
        assert progress >= 1, "the first worker finished no epoch"
        first.send_signal(signal.SIGKILL)  # no goodbye: the lease simply stops being extended
        first.wait()
    finally:
        first.kill()
    second = start_worker(training_env)
    try:
        record = eventually(lambda: _done(records.get(trial.trial_id)), timeout=300, interval=0.5)
    finally:
        second.terminate()
        second.wait(30)
    assert record, "the trial did not finish after its worker was killed"
    assert record["resumed_from_epoch"] >= progress  # nothing checkpointed was lost
    workers = [a["worker"] for a in record["attempts"]]
    assert len(workers) == 2 and workers[0] != workers[1]
    assert [h["epoch"] for h in record["history"]] == [1, 2, 3, 4]
    assert {h["worker"] for h in record["history"][record["resumed_from_epoch"]:]} == {workers[1]}
    checkpoints = LocalStore(training_env["MODEL_STORE"]).child(f"checkpoints/{trial.trial_id}")
    assert json.loads(checkpoints.read("state.json"))["epochs_done"] == 4


def _done(record):
    return record if record and record.get("status") == "done" else None


def test_the_runner_tunes_in_parallel_and_publishes_the_best_trial(settings, clients, training_env):
    result = subprocess.run(
        [sys.executable, "-m", "jobs.train.run", "--trials", "2", "--workers", "2", "--epochs", "2",
         "--chitchat-conversations", "0", "--rpc-dialogues", "0"],
        cwd=REPO, env=training_env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    pointer = clients.firestore.collection("models").document("current").get().to_dict()
    assert pointer["uri"].startswith(training_env["MODEL_STORE"])
    assert f"published {pointer['version']}" in result.stdout
    run_trials = TrialRecords(clients.firestore).of_run(pointer["trial_id"].rsplit("-", 1)[0])
    assert len(run_trials) == 2 and all(t["status"] == "done" for t in run_trials)
    assert pointer["val_recall_at_1"] == max(t["val_recall_at_1"] for t in run_trials)
    manifest = json.loads(LocalStore(pointer["uri"]).read("manifest.json"))
    assert manifest["version"] == pointer["version"]
    # The lexical prior's weight was chosen on validation recall, and the served model uses it.
    assert manifest["lexical_weight"] in LEXICAL_WEIGHTS
    assert max(manifest["lexical_validation"].values()) == manifest["lexical_validation"][str(manifest["lexical_weight"])]
    served = EncoderModel.load(LocalStore(pointer["uri"]))
    assert served.lexical_weight == manifest["lexical_weight"]
    scores = served.scores(Context(("I like to read books",), "en"), ["What do you like to read?", "猫が好きです"])
    assert np.all(np.isfinite(scores))


def test_on_cloud_run_the_runner_executes_the_train_worker_job_with_a_task_per_trial_up_to_the_cap(
    settings, clients, training_env, tmp_path
):
    """``--cloud-run-job``: one execution of the job ``make deploy`` creates,
    through google-cloud-run against the local stand-in for its Admin API."""
    from infra.local.run_jobs_server import RunJobsServer
    from tests.conftest import TEST_PORT_BASE

    server = RunJobsServer(TEST_PORT_BASE + 291, env=training_env, log_dir=tmp_path).start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "jobs.train.run", "--trials", "3", "--workers", "2", "--epochs", "1",
             "--chitchat-conversations", "0", "--rpc-dialogues", "0", "--no-publish",
             "--cloud-run-job", "--region", "asia-northeast1", "--run-api-endpoint", server.url],
            cwd=REPO, env=training_env, capture_output=True, text=True, timeout=600,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    [run] = server.runs
    assert run["job"] == "train-worker" and run["overrides"]["taskCount"] == 2
    assert run["overrides"]["containerOverrides"][0]["args"][:2] == ["-m", "jobs.train.worker"]
    assert "best: " in result.stdout


def test_trials_of_a_killed_run_are_abandoned_and_skipped_by_the_workers(settings, clients, training_env, unique):
    """A killed `make train` leaves its trials queued; the next run must not train them first."""
    from google.cloud import pubsub_v1

    from jobs.train.worker import work
    from shared.messaging.topology import workers_subscription

    topic = training_env["TRAIN_TRIALS_TOPIC"]
    ensure_queue(clients, topic)
    stale = Trial(f"{unique}-old", f"{unique}-old-run", HParams(**TINY, epochs=1), CHATTERBOT_ONLY, TINY_NGRAM)
    records = TrialRecords(clients.firestore)
    records.queued(stale)
    Publisher(clients.publisher, settings.project).publish(topic, stale.to_json())
    assert stale.trial_id in records.abandon_others(f"{unique}-new-run")
    subscriber = pubsub_v1.SubscriberClient()
    subscription = subscriber.subscription_path(settings.project, workers_subscription(topic))
    finished = work(subscriber, subscription, LocalStore(training_env["MODEL_STORE"]), records, "test", idle_exit_s=3)
    assert finished == 0
    record = records.get(stale.trial_id)
    assert record["status"] == "abandoned" and record["attempts"] == []  # acknowledged, never trained
    response = subscriber.pull(request={"subscription": subscription, "max_messages": 1, "return_immediately": True}, timeout=10)
    assert list(response.received_messages) == []
