"""The dual encoder's production path, with the model store on Cloud Storage:
`make train`'s runner with ``MODEL_STORE=gs://<models bucket>/models`` (the
tests' Cloud Storage stand-in, gcp-storage-emulator, through the official
google-cloud-storage client) checkpoints and publishes there and writes
``models/current``; a scorer then reads that pointer and loads the version
from ``gs://`` and answers with it.

What the stand-in cannot show is IAM: it accepts any caller. The other half,
that the scorer's service account holds a role that lets it read the models
bucket (and only read it), is Terraform's, checked offline here from the
same model the drift check reads (infra/check_terraform.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from shared import ids
from shared.scorer import FALLBACKS
from tests.conftest import REPO
from tests.support import utterance_event, seed_corpus

pytestmark = pytest.mark.slow

BUCKET = "zatsudan-test-models"


@pytest.fixture(scope="module")
def cloud_storage():
    from gcp_storage_emulator.server import create_server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    saved = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"  # google-cloud-storage talks to it
    try:
        yield os.environ["STORAGE_EMULATOR_HOST"]
    finally:
        if saved is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = saved
        server.stop()


@pytest.fixture(scope="module")
def published_on_gcs(stack, clients, cloud_storage):
    """Train and publish a tiny model with the store on gs://; the stack's
    models/current is put back afterwards (other tests serve from it)."""
    pointer = clients.firestore.collection("models").document("current")
    before = pointer.get().to_dict()
    seed_corpus(clients.firestore)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "MODEL_STORE": f"gs://{BUCKET}/models",
        "STORAGE_EMULATOR_HOST": cloud_storage,
        "TRAIN_TRIALS_TOPIC": "train-trials-gcs",
    }
    result = subprocess.run(
        [sys.executable, "-m", "jobs.train.run", "--trials", "1", "--workers", "1", "--epochs", "2", "--chitchat-conversations", "0",
         "--rpc-dialogues", "300"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    try:
        yield pointer.get().to_dict()
    finally:
        if before is None:
            pointer.delete()
        else:
            pointer.set(before)


def test_training_checkpoints_and_publishes_on_cloud_storage(published_on_gcs):
    from google.cloud import storage

    assert published_on_gcs["uri"].startswith(f"gs://{BUCKET}/models/")
    names = {blob.name for blob in storage.Client(project="zatsudan-local").list_blobs(BUCKET)}
    version = published_on_gcs["version"]
    assert "models/LATEST" in names
    assert any(name.startswith(f"models/versions/{version}/") for name in names)
    assert any(name.startswith("models/checkpoints/") for name in names)


def test_a_scorer_reads_the_pointer_and_serves_the_version_from_cloud_storage(published_on_gcs, settings, clients, unique):
    from shared.app import build_scorer_service

    service = build_scorer_service(settings, clients)
    event = utterance_event(ids.new_conversation_id(), "好きな食べ物は何ですか？", "ja", "dual_encoder",
                            user_id=unique, propensity=1.0, reply_path="")
    decision = service.handle(event)
    assert decision.reply.algorithm == "dual_encoder"
    assert decision.reply.text not in FALLBACKS and not decision.log.fallback


def test_terraform_lets_the_scorer_read_the_models_bucket_and_nothing_more():
    from infra import check_terraform
    from infra.terraform_model import TerraformModel

    model = TerraformModel.load(overrides=check_terraform.EXAMPLE)
    checker = check_terraform.Checker(model)
    store = model.resolve(model.outputs["function_env"])["MODEL_STORE"]
    bucket = store.removeprefix("gs://").split("/", 1)[0]
    assert bucket in checker.granted("read_objects", "scorer")
    writable = {
        model.resolve(instance.body.get("bucket"))
        for label in model.resources.get("google_storage_bucket_iam_member", {})
        for instance in model.instances("google_storage_bucket_iam_member", label)
        if checker.grantee(instance.body.get("member")) == "scorer"
        and model.resolve(instance.body.get("role")) != "roles/storage.objectViewer"
    }
    assert writable == set()  # serving never writes a model
