"""Composition root: each function builds from settings and (here, fake) clients
without connecting anywhere, and behaves at its edges."""

from __future__ import annotations

import base64
import json
import sys

import flask
import pytest

from shared import app as app_module
from shared.config import Settings
from shared import logs
from shared.events import FeedbackEvent, UtteranceEvent
from shared.router import RouterConfigError

from .fakes import FakeFirestore, FakePubsubClient, answered, load_golden

# Routing that never asks Firestore whether a model is published (these fakes have no Firestore).
LEXICAL_ONLY = "tfidf:0.5,bm25:0.5"


class NoCalls:
    """A client stand-in that fails the test if the code under test uses it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute):
        pytest.fail(f"{self._name}.{attribute} used")


class LocalFirestore(NoCalls):
    """Collection references are local objects; any read or write fails the test."""

    def collection(self, name: str) -> NoCalls:
        return NoCalls(f"firestore.collection({name!r})")


class FakeClients:
    def __init__(self) -> None:
        self.publisher = FakePubsubClient()
        # Ingress reads Firestore (conversation owners, answered users): an in-memory fake.
        self.firestore = FakeFirestore()
        self.bigquery = NoCalls("bigquery")


def _post(handler, path, body):
    with flask.Flask(__name__).test_request_context(path, method="POST", json=body):
        return handler(flask.request)


def test_ingress_accepts_an_utterance_and_publishes_it_ordered_by_conversation():
    clients = FakeClients()
    handler = app_module.build_ingress(Settings(project="p", router_seed=1, auth_mode="off", algorithm_weights=LEXICAL_ONLY), clients)
    response = _post(handler, "/v1/utterances", {"user_id": "u", "text": "猫が好きです", "conversation_id": "c-1"})
    assert response.status_code == 202
    ((topic, data, ordering_key, attributes),) = clients.publisher.published
    assert (topic, ordering_key) == ("projects/p/topics/utterances", "c-1")
    event = UtteranceEvent.from_json(data)
    assert event.algorithm in ("tfidf", "bm25") and event.propensity == 0.5
    assert {k: v for k, v in attributes.items() if k != "traceparent"} == {
        "message_id": event.message_id,
        "algorithm": event.algorithm,
    }
    assert logs.parse_traceparent(attributes["traceparent"]) is not None  # a new trace when none came in


@pytest.mark.parametrize(
    "header, value, trace_id",
    [
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736"),
        ("X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/1;o=1", "105445aa7843bc8bf206b12000100000"),
    ],
)
def test_ingress_passes_the_callers_trace_on_to_the_event(header, value, trace_id):
    clients = FakeClients()
    handler = app_module.build_ingress(Settings(project="p", router_seed=1, auth_mode="off", algorithm_weights=LEXICAL_ONLY), clients)
    with flask.Flask(__name__).test_request_context(
        "/v1/utterances", method="POST", json={"user_id": "u", "text": "猫"}, headers={header: value}
    ):
        assert handler(flask.request).status_code == 202
    ((_, _, _, attributes),) = clients.publisher.published
    assert logs.parse_traceparent(attributes["traceparent"]).trace_id == trace_id


def test_ingress_accepts_feedback_and_publishes_it_on_the_feedback_topic():
    clients = FakeClients()
    message_id = "01KB0000000000000000000000"
    clients.firestore = FakeFirestore(answered(message_id, "u"))  # the scorer answered u's line
    handler = app_module.build_ingress(Settings(project="p", auth_mode="off"), clients)
    response = _post(handler, "/v1/feedback", {"message_id": message_id, "reward": -1, "user_id": "u"})
    assert response.status_code == 202
    ((topic, data, _, attributes),) = clients.publisher.published
    event = FeedbackEvent.from_json(data)
    assert topic == "projects/p/topics/feedback"
    assert (event.message_id, event.reward, event.source) == (message_id, -1.0, "explicit")
    assert attributes["feedback_id"] == event.feedback_id == json.loads(response.get_data())["feedback_id"]


@pytest.mark.parametrize(
    "rater, stored, status, code",
    [
        ("intruder", answered("01KB0000000000000000000000", "owner"), 403, "permission_denied"),
        (None, answered("01KB0000000000000000000000", "owner"), 403, "permission_denied"),
        ("owner", {}, 404, "not_found"),
    ],
    ids=["another user", "no user", "not answered"],
)
def test_feedback_from_anyone_but_the_answered_user_is_refused_and_publishes_nothing(rater, stored, status, code):
    clients = FakeClients()
    clients.firestore = FakeFirestore(stored)
    handler = app_module.build_ingress(Settings(project="p", auth_mode="off"), clients)
    body = {"message_id": "01KB0000000000000000000000", "reward": 1, **({"user_id": rater} if rater else {})}
    response = _post(handler, "/v1/feedback", body)
    assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)
    assert clients.publisher.published == []


def test_a_line_into_another_users_conversation_is_refused_at_ingress():
    clients = FakeClients()
    clients.firestore = FakeFirestore({"conversations/c-1": {"user_id": "owner"}})
    handler = app_module.build_ingress(Settings(project="p", auth_mode="off"), clients)
    refused = _post(handler, "/v1/utterances", {"user_id": "intruder", "text": "hi", "conversation_id": "c-1"})
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "permission_denied")
    assert clients.publisher.published == []
    accepted = _post(handler, "/v1/utterances", {"user_id": "owner", "text": "hi", "conversation_id": "c-1"})
    assert accepted.status_code == 202 and len(clients.publisher.published) == 1


def test_ingress_answers_healthz():
    handler = app_module.build_ingress(Settings(), FakeClients())
    with flask.Flask(__name__).test_request_context("/healthz"):
        response = handler(flask.request)
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("weights", ["word2vec:1", "tfidf:1,use:1", ""])
def test_ingress_refuses_to_start_with_weights_for_unknown_algorithms(weights):
    with pytest.raises(RouterConfigError):
        app_module.build_ingress(Settings(algorithm_weights=weights), FakeClients())


def _push(data: bytes) -> dict:
    return {"message": {"data": base64.b64encode(data).decode(), "attributes": {}, "messageId": "1"}}


def test_the_scorer_dead_letters_a_malformed_event_without_touching_firestore():
    clients = FakeClients()
    handler = app_module.build_scorer(Settings(project="p"), clients)
    bad = {**load_golden("utterance-event.json"), "schema_version": 99}
    handler(_push(json.dumps(bad).encode()))
    ((topic, _, _, attributes),) = clients.publisher.published
    assert topic == "projects/p/topics/utterances-dead"
    assert "schema_version" in attributes["dead_letter_reason"]
    assert attributes["dead_letter_source"] == "scorer"


def test_the_log_sink_dead_letters_a_malformed_log_without_touching_bigquery():
    clients = FakeClients()
    handler = app_module.build_log_sink(Settings(project="p"), clients)
    handler(_push(b"not json"))
    ((topic, _, _, attributes),) = clients.publisher.published
    assert topic == "projects/p/topics/selection-logs-dead"
    assert attributes["dead_letter_source"] == "log_sink"


def test_lazy_builds_once_from_the_environment(monkeypatch):
    monkeypatch.setattr(app_module.logs, "setup", lambda project: None)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "lazy-project")
    built = []

    def build(settings, clients):
        built.append(settings.project)
        return object()

    get = app_module.lazy(build)
    assert built == []
    assert get() is get()
    assert built == ["lazy-project"]


def test_the_shared_package_never_imports_tensorflow():
    import shared.ranking.lexical  # noqa: F401  (every ranker the registry knows)
    import shared.scorer  # noqa: F401

    app_module.build_scorer(Settings(), FakeClients())  # building loads no model
    assert "tensorflow" not in sys.modules


def test_feedback_needs_the_same_credentials_as_utterances():
    clients = FakeClients()
    handler = app_module.build_ingress(Settings(project="p"), clients)  # AUTH_MODE=required
    response = _post(handler, "/v1/feedback", {"message_id": "01KB0000000000000000000000", "reward": 1})
    assert response.status_code == 401
    assert clients.publisher.published == []


@pytest.mark.parametrize("router", ["weighted", "thompson"])
def test_no_router_sends_an_utterance_to_the_dual_encoder_before_a_model_is_published(router):
    from shared.ranking import RANKERS

    clients = FakeClients()
    settings = Settings(project="p", router=router, router_seed=1, model_pointer_ttl_s=0)  # the default weights
    choose = app_module.make_router(settings, clients, known=RANKERS).choose
    assert "dual_encoder" not in {choose().algorithm for _ in range(100)}
    clients.firestore.collection("models").document("current").set({"version": "v1", "uri": "/m/v1"})
    assert "dual_encoder" in {choose().algorithm for _ in range(100)}
