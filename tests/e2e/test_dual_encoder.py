"""End to end with the dual encoder: train and publish a (tiny) model on the
test stack, then chat through an ingress that routes every line to
``dual_encoder``; the stack's scorer loads the published version from
``models/current`` on its first such event, without a restart."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from jobs.chat import ChatClient, FirestoreReplyWatcher
from shared.scorer import FALLBACKS
from tests.conftest import REPO, TEST_PORT_BASE
from tests.support import eventually, seed_corpus

pytestmark = pytest.mark.slow

# The test stack's block of ten ports is full; +9 belongs to the Firestore
# rules test's own emulator, which (module-scoped too) never runs at the same time.
INGRESS_OFFSET = 9


@pytest.fixture(scope="module")
def published(stack, clients, tmp_path_factory):
    seed_corpus(clients.firestore)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "MODEL_STORE": str(tmp_path_factory.mktemp("models")),
        "TRAIN_TRIALS_TOPIC": "train-trials-e2e",
    }
    result = subprocess.run(
        [sys.executable, "-m", "jobs.train.run", "--trials", "1", "--workers", "1", "--epochs", "2", "--chitchat-conversations", "0", "--rpc-dialogues", "300"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return clients.firestore.collection("models").document("current").get().to_dict()


@pytest.fixture(scope="module")
def dual_encoder_ingress(stack, published):
    """A second ingress on the stack's emulators, routing everything to the dual encoder."""
    import requests

    port = TEST_PORT_BASE + INGRESS_OFFSET
    bundle = stack.bundle("ingress")  # the deploy bundle the stack's own ingress runs from
    env = {**os.environ, **stack.env(), "PYTHONPATH": str(bundle), "ALGORITHM_WEIGHTS": "dual_encoder:1"}
    process = subprocess.Popen(
        [str(REPO / ".venv/bin/functions-framework"), f"--source={bundle / 'main.py'}",
         "--target=ingress", "--host=127.0.0.1", f"--port={port}"],
        cwd=bundle, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )

    def healthy():
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        assert eventually(healthy, timeout=60, interval=0.2), "the dual-encoder ingress did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)


@pytest.mark.parametrize(
    "line, lang", [("好きな食べ物は何ですか？", "ja"), ("What is your favorite book?", "en"), ("Hello", "en")]
)
def test_the_chat_answers_with_the_dual_encoder(dual_encoder_ingress, clients, unique, line, lang):
    chat = ChatClient(dual_encoder_ingress, FirestoreReplyWatcher(clients.firestore), user_id=unique)
    answer = chat.say(line)
    assert answer.algorithm == "dual_encoder"
    assert answer.text and answer.text not in FALLBACKS


def test_the_published_version_holds_an_embedding_for_every_candidate(published, clients):
    from jobs.train.publish import candidate_texts
    from shared.model_store import open_store
    from shared.ranking.encoder_model import EncoderModel

    model = EncoderModel.load(open_store(published["uri"]))
    assert model.version == published["version"]
    texts = candidate_texts(clients.firestore)
    assert texts and all(model.known(t) for t in texts)
