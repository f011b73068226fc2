"""Firestore operations per utterance across ingress, scorer and log sink,
counted at the client (``tests/firestore_ops.py``), on the emulators.

Budget (issue 15): at most 2 document reads and 3 writes per utterance, with
replies in Firestore. The functions run in process as built for deployment
(``shared/app.py``); Pub/Sub is replaced by handing each published message to
the next function, so nothing else touches the counted client.
"""

from __future__ import annotations

import base64
import dataclasses

import flask
import pytest

from shared.app import build_ingress, build_log_sink, build_scorer
from shared.clients import Clients
from shared.ranking import Candidate
from shared.stores import CandidateStore
from tests.firestore_ops import counting
from tests.unit.fakes import FakePubsubClient

READS, WRITES = 2, 3


class Pipeline:
    """ingress -> scorer -> log sink, each delivery handed on in process."""

    def __init__(self, settings) -> None:
        self.clients = Clients(settings)
        self.pubsub = FakePubsubClient()
        self.clients._made["publisher"] = self.pubsub
        handler = build_ingress(settings, self.clients)
        app = flask.Flask("budget")
        app.add_url_rule("/v1/utterances", view_func=lambda: handler(flask.request), methods=["POST"])
        self.ingress = app.test_client()
        self.scorer = build_scorer(settings, self.clients)
        self.log_sink = build_log_sink(settings, self.clients)
        self.topics = settings.topics

    def _deliver(self, topic: str) -> dict:
        (path, data, _key, attributes), = [p for p in self.pubsub.published if p[0].endswith(f"/topics/{topic}")]
        self.pubsub.published.clear()
        return {"message": {"data": base64.b64encode(data).decode(), "attributes": attributes, "messageId": "1"}}

    def say(self, body: dict) -> dict:
        answer = self.ingress.post("/v1/utterances", json=body)
        assert answer.status_code == 202, answer.get_json()
        self.scorer(self._deliver(self.topics.utterances))
        self.log_sink(self._deliver(self.topics.selection_logs), f"//pubsub/projects/p/topics/{self.topics.selection_logs}")
        return answer.get_json()


@pytest.fixture
def pipeline(settings, clients, unique):
    # Lexical rankers only, a candidate cache and a model pointer that outlive
    # the test: the steady state of an instance (candidates are read once per
    # keyword and models/current once per MODEL_POINTER_TTL_S, not per line).
    steady = dataclasses.replace(
        settings, auth_mode="off", algorithm_weights="tfidf:0.5,bm25:0.5", candidate_cache_ttl_s=600.0,
        model_pointer_ttl_s=600.0, reply_store="firestore",
    )
    CandidateStore(clients.firestore).put(
        unique, [Candidate(text=f"I like {unique} too", context=f"do you like {unique}"), Candidate(text="hello")], "en"
    )
    built = Pipeline(steady)
    # The keyword alone: its two candidates are too few, so the look-up by
    # meaning asks for the model too (another word might bring a full pool).
    built.say({"user_id": "warm-up", "text": unique, "lang": "en"})
    return built


def test_each_line_of_a_conversation_costs_at_most_two_reads_and_three_writes(pipeline, unique):
    with counting(pipeline.clients.firestore) as first:
        opened = pipeline.say({"user_id": "alice", "text": f"I like {unique}", "lang": "en"})
    lines = []
    for text in (f"more {unique} please", f"{unique} again"):
        with counting(pipeline.clients.firestore) as counts:
            pipeline.say({"user_id": "alice", "conversation_id": opened["conversation_id"], "text": text, "lang": "en"})
        lines.append(counts)
    # First line: the scorer reads the (missing) conversation; writes decision, conversation, reply.
    # Second: ingress reads the owner too. Third: ingress knows the owner (owners never change).
    totals = [{k: c[k] for k in ("reads", "writes") if c[k]} for c in (first, *lines)]
    assert totals == [{"reads": 1, "writes": 3}, {"reads": 2, "writes": 3}, {"reads": 1, "writes": 3}], [
        dict(c) for c in (first, *lines)
    ]
    assert all(c["reads"] <= READS and c["writes"] <= WRITES and not c["deletes"] for c in (first, *lines))
