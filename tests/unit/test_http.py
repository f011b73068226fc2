"""HTTP plumbing: every answer is JSON, every failure maps to its status."""

from __future__ import annotations

import json

import flask
import pytest
from werkzeug.test import EnvironBuilder

from shared.config import Settings
from shared.errors import ApiError
from shared.http import MAX_BODY_BYTES, Route, serve
from shared.ingress import IngressService
from shared.router import WeightedRouter

from .fakes import FakePublisher

app = flask.Flask(__name__)


def _boom():
    raise RuntimeError("database exploded at 10.0.0.7")


def _not_yours(body):
    raise ApiError("invalid_argument", "text is required")


ROUTES = {
    ("POST", "/v1/echo"): Route(lambda body: {"got": body}, status=202, takes_json=True),
    ("GET", "/healthz"): Route(lambda: {"status": "ok"}),
    ("GET", "/boom"): Route(_boom),
    ("POST", "/v1/reject"): Route(_not_yours, takes_json=True),
    ("GET", "/unserialisable"): Route(lambda: {"when": object()}),
}


def _call(path="/v1/echo", method="POST", data=b"{}", content_type="application/json", routes=ROUTES, **kwargs):
    with app.test_request_context(path, method=method, data=data, content_type=content_type, **kwargs):
        response = serve(flask.request, routes)
    return response.status_code, response


def _error(response) -> dict:
    assert response.mimetype == "application/json"
    body = json.loads(response.get_data())
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


ERRORS = [
    # (why, request kwargs, status, code)
    ("text/plain body", dict(content_type="text/plain"), 415, "unsupported_media_type"),
    ("form body", dict(data={"a": "b"}, content_type=None), 415, "unsupported_media_type"),
    ("no content type", dict(content_type=None), 415, "unsupported_media_type"),
    ("json lookalike type", dict(content_type="application/jsonp"), 415, "unsupported_media_type"),
    ("not JSON", dict(data=b"user_id=1"), 400, "invalid_json"),
    ("empty body", dict(data=b""), 400, "invalid_json"),
    ("truncated JSON", dict(data=b'{"text": "hi"'), 400, "invalid_json"),
    ("invalid UTF-8", dict(data=b'{"text": "\xff\xfe"}'), 400, "invalid_json"),
    ("Latin-1 bytes", dict(data='{"text": "café"}'.encode("latin-1")), 400, "invalid_json"),
    ("deeply nested JSON", dict(data=b"[" * 5000 + b"]" * 5000), 400, "invalid_json"),
    ("body over the limit", dict(data=b" " * (MAX_BODY_BYTES + 1)), 413, "payload_too_large"),
    ("unknown path", dict(path="/v2/echo"), 404, "not_found"),
    ("root path", dict(path="/", method="GET"), 404, "not_found"),
    ("wrong method", dict(method="GET"), 405, "method_not_allowed"),
    ("PUT on a POST route", dict(method="PUT"), 405, "method_not_allowed"),
    ("POST on a GET route", dict(path="/healthz"), 405, "method_not_allowed"),
    ("handler raises ApiError", dict(path="/v1/reject"), 400, "invalid_argument"),
    ("handler raises unexpectedly", dict(path="/boom", method="GET"), 500, "internal"),
    ("result not serialisable", dict(path="/unserialisable", method="GET"), 500, "internal"),
]


@pytest.mark.parametrize("why, request_kwargs, status, code", ERRORS, ids=[case[0] for case in ERRORS])
def test_failures_answer_json_errors_with_the_right_status(why, request_kwargs, status, code):
    got_status, response = _call(**request_kwargs)
    assert got_status == status
    assert _error(response)["code"] == code


def test_an_unexpected_exception_is_500_json_without_details_or_html():
    status, response = _call(path="/boom", method="GET")
    assert status == 500
    text = response.get_data(as_text=True)
    assert "<html" not in text.lower()
    assert "10.0.0.7" not in text and "Traceback" not in text


def test_success_answers_the_route_status_and_the_handlers_json():
    status, response = _call(data=json.dumps({"text": "猫"}).encode())
    assert status == 202
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data()) == {"got": {"text": "猫"}}


def test_json_answers_keep_japanese_readable():
    _, response = _call(data=json.dumps({"text": "猫"}).encode())
    assert "猫".encode() in response.get_data()


def test_a_route_that_takes_no_json_ignores_the_body_and_content_type():
    status, response = _call(path="/healthz", method="GET", data=b"", content_type=None)
    assert (status, json.loads(response.get_data())) == (200, {"status": "ok"})


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_content_type_parameters_and_case_are_accepted(content_type):
    status, _ = _call(content_type=content_type)
    assert status == 202


def test_a_trailing_slash_finds_the_route():
    status, _ = _call(path="/v1/echo/")
    assert status == 202


def test_a_body_of_exactly_the_limit_is_read():
    padding = MAX_BODY_BYTES - len(b'{"x":""}')
    data = b'{"x":"' + b"a" * padding + b'"}'
    assert len(data) == MAX_BODY_BYTES
    status, response = _call(data=data)
    assert status == 202


def test_a_body_without_content_length_is_still_bounded():
    builder = EnvironBuilder(path="/v1/echo", method="POST", data=b" " * (MAX_BODY_BYTES * 4), content_type="application/json")
    environ = builder.get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True  # chunked transfer, as gunicorn reports it
    with app.request_context(environ):
        assert flask.request.content_length is None
        response = serve(flask.request, ROUTES)
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


# -- the ingress routes, end to end through serve() -----------------------------------


def _ingress_routes(publisher):
    service = IngressService(Settings(), WeightedRouter.from_spec("tfidf:1", seed=1), publisher)
    return {("POST", "/v1/utterances"): Route(service.accept_utterance, status=202, takes_json=True)}


def test_an_accepted_utterance_answers_202_with_its_reply_path():
    publisher = FakePublisher()
    status, response = _call(
        path="/v1/utterances",
        data=json.dumps({"user_id": "u", "text": "猫が好きです", "conversation_id": "c1"}).encode(),
        routes=_ingress_routes(publisher),
    )
    body = json.loads(response.get_data())
    assert status == 202
    assert body["reply_path"] == f"replies/c1/messages/{body['message_id']}"
    assert len(publisher.calls) == 1


def test_a_caller_mistake_is_4xx_and_a_failed_publish_is_503():
    status, response = _call(path="/v1/utterances", data=b'{"user_id": "u"}', routes=_ingress_routes(FakePublisher()))
    assert (status, _error(response)["code"]) == (400, "invalid_argument")
    failing = FakePublisher(error=RuntimeError("pubsub down"))
    status, response = _call(path="/v1/utterances", data=b'{"user_id": "u", "text": "hi"}', routes=_ingress_routes(failing))
    assert (status, _error(response)["code"]) == (503, "unavailable")


def test_a_lone_surrogate_in_the_body_is_a_4xx_not_503():
    status, _ = _call(
        path="/v1/utterances", data=b'{"user_id": "u", "text": "\\ud800"}', routes=_ingress_routes(FakePublisher())
    )
    assert 400 <= status < 500


# ----- CORS: the web chat page posts from another origin -------------------------------------
ORIGIN = "http://127.0.0.1:8608"


def _cors_call(method: str, origin: str, origins=(ORIGIN,)):
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    with app.test_request_context("/v1/echo", method=method, data=b"{}", content_type="application/json", headers=headers):
        return serve(flask.request, ROUTES, origins)


@pytest.mark.parametrize(
    "origins, origin, allowed",
    [((ORIGIN,), ORIGIN, True), (("*",), "http://elsewhere", True), ((ORIGIN,), "http://evil.example", False), ((), ORIGIN, False)],
)
def test_cors_preflight_and_answers_name_only_allowed_origins(origins, origin, allowed):
    preflight = _cors_call("OPTIONS", origin, origins)
    answer = _cors_call("POST", origin, origins)
    assert (preflight.status_code, answer.status_code) == (204, 202)
    for response in (preflight, answer):
        assert response.headers.get("Access-Control-Allow-Origin") == (origin if allowed else None)
    if allowed:
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]


def test_options_on_an_unknown_path_is_not_found():
    with app.test_request_context("/nope", method="OPTIONS", headers={"Origin": ORIGIN}):
        response = serve(flask.request, ROUTES, (ORIGIN,))
    assert response.status_code == 404
