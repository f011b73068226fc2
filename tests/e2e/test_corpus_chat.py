"""End to end: `python -m jobs.corpus run` (what `make corpus` runs) on the
shipped data, with two workers, then the chat answers from its candidates."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from jobs.chat import ChatClient, FirestoreReplyWatcher
from shared import moves, persona, text as textlib
from shared.stores import decode_candidates
from shared.text import keyword_doc_id
from tests.conftest import REPO


@pytest.fixture(scope="module")
def corpus_run(stack, tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    result = subprocess.run(
        [sys.executable, "-m", "jobs.corpus", "run", "--env", str(stack.env_file), "--workers", "2",
         "--source", "nagonbot", "--source", "real_persona_chat", "--source", "chitchat", "--sample", "300", "--rows-per-shard", "200",
         "--shard-url", str(folder / "shards"), "--log-dir", str(folder / "logs"), "--no-progress"],
        capture_output=True, text=True, timeout=240, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def pipeline_doc(clients, keyword: str) -> dict | None:
    snapshot = clients.firestore.collection("candidates").document(keyword_doc_id(keyword)).get()
    data = snapshot.to_dict() if snapshot.exists else None
    return data if data and "content_hash" in data else None  # only the pipeline stores a content hash


def test_the_run_fills_candidates_in_both_languages_and_prints_a_summary(corpus_run):
    langs = dict(
        part.split() for part in corpus_run.split("keywords by lang")[1].strip().splitlines()[0].split(", ")
    )
    assert int(langs["ja"]) > 10 and int(langs["en"]) > 10
    for line in ("rows in", "filtered too_long:", "rows kept", "candidates written", "time"):
        assert line in corpus_run


def answer_from_pipeline(stack, clients, unique, utterance: str, lang: str) -> tuple[str, set[str]]:
    keywords = textlib.topic_keywords([utterance], lang, 4)
    docs = [pipeline_doc(clients, k) for k in keywords]
    assert keywords and all(docs), f"not every keyword of {utterance!r} has a pipeline document"
    chat = ChatClient(stack.url("ingress"), FirestoreReplyWatcher(clients.firestore), user_id=unique)
    answer = chat.say(utterance)
    return answer.text, {c["text"] for doc in docs for c in decode_candidates(doc)}


def pipeline_utterance(clients, lang: str) -> str:
    """A post of the run whose every topic keyword has a pipeline document and
    that the bot answers by ranking (its own lines, 元気? or thanks, are no
    candidates)."""
    docs = [s.to_dict() for s in clients.firestore.collection("candidates").stream()]
    contexts = {
        c["context"] for d in docs if d.get("content_hash") and d["lang"] == lang
        for c in decode_candidates(d) if c["source"] != "own"
    }
    return next(
        c for c in sorted(contexts)
        if (keywords := textlib.topic_keywords([c], lang, 4))
        and all(pipeline_doc(clients, k) for k in keywords)
        and moves.answer(c, lang) is None and persona.answer(c, lang) is None
    )


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_chat_answers_from_the_pipelines_candidates(stack, clients, corpus_run, unique, lang):
    utterance = pipeline_utterance(clients, lang)
    time.sleep(1.5)  # past the test stack's one-second candidate cache
    reply, candidates = answer_from_pipeline(stack, clients, unique, utterance, lang)
    assert reply in candidates
