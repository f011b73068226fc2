"""Issue 8, auth and abuse at ingress (in process, AUTH_MODE=required, real
Pub/Sub emulator): every bad credential on either endpoint gets 401 JSON and
publishes nothing; an oversized body gets 413; a flood from one user gets 429.

With FIREBASE_AUTH_EMULATOR_HOST set, firebase_admin checks an ID token's
claims but neither its signature nor its expiry, so expired and forged
(wrongly signed) tokens are tested in tests/unit/test_id_tokens.py through the
verification firebase_admin runs in production."""

from __future__ import annotations

import base64
import dataclasses
import json
import time

import flask
import pytest

from shared.app import build_ingress
from shared.auth import SIGNATURE_HEADER, sign
from shared.clients import Clients
from shared.http import MAX_BODY_BYTES
from tests.integration.test_ingress_auth import SECRET, unsigned_id_token


def token(project: str, uid: str, **claims) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    body = {"iss": f"https://securetoken.google.com/{project}", "aud": project, "sub": uid,
            "iat": now - 60, "exp": now + 3600, "auth_time": now - 60, **claims}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(body)}."


def build_app(settings, **overrides):
    # Tokens forged for users no Auth emulator knows: no revocation look-up.
    changed = dataclasses.replace(settings, auth_mode="required", webhook_secret=SECRET, check_revoked=False, **overrides)
    handler = build_ingress(changed, Clients(changed))
    app = flask.Flask("ingress-abuse")
    for path in ("/v1/utterances", "/v1/feedback"):
        app.add_url_rule(path, path, view_func=lambda: handler(flask.request), methods=["POST"])
    return app.test_client()


@pytest.fixture(scope="module")
def client(settings, monkeypatch_module):
    monkeypatch_module.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9")
    return build_app(settings)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


BODIES = {
    "/v1/utterances": lambda unique: {"user_id": "u1", "text": "猫が好きです", "conversation_id": unique},
    "/v1/feedback": lambda unique: {"message_id": "01HZX3J9K8M2N4P6Q8R0S2T4V6", "reward": 1, "user_id": "u1", "source": "explicit"},
}
TOPIC = {"/v1/utterances": "utterances", "/v1/feedback": "feedback"}

def now() -> int:
    """Read when the test runs: a timestamp taken at collection goes stale in a long suite."""
    return int(time.time())

REFUSED = [
    ("no credential", lambda body, p: {}),
    ("bad HMAC", lambda body, p: {SIGNATURE_HEADER: sign("wrong-secret", body)}),
    ("HMAC of another body", lambda body, p: {SIGNATURE_HEADER: sign(SECRET, body + b" ")}),
    ("replayed: signed 10 minutes ago", lambda body, p: {SIGNATURE_HEADER: sign(SECRET, body, timestamp=now() - 600)}),
    ("signed 10 minutes in the future", lambda body, p: {SIGNATURE_HEADER: sign(SECRET, body, timestamp=now() + 600)}),
    ("signature header without v1", lambda body, p: {SIGNATURE_HEADER: f"t={now()}"}),
    ("signature header garbage", lambda body, p: {SIGNATURE_HEADER: "hello"}),
    ("ID token of another project", lambda body, p: {"Authorization": "Bearer " + token("other", "u1")}),
    ("forged ID token: wrong issuer", lambda body, p: {"Authorization": "Bearer " + token(p, "u1", iss="https://evil.example")}),
    ("ID token without a subject", lambda body, p: {"Authorization": "Bearer " + token(p, "")}),
    ("garbage token", lambda body, p: {"Authorization": "Bearer not.a.jwt"}),
    ("wrong scheme", lambda body, p: {"Authorization": "Basic dTE6cGFzcw=="}),
]


@pytest.mark.parametrize("path", sorted(BODIES))
@pytest.mark.parametrize("why, headers_for", REFUSED, ids=[w for w, _ in REFUSED])
def test_bad_credentials_get_401_and_publish_nothing(client, settings, pull, unique, path, why, headers_for):
    reader = pull(TOPIC[path])
    body = json.dumps(BODIES[path](unique)).encode()
    response = client.post(path, data=body, content_type="application/json", headers=headers_for(body, settings.project))
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "unauthenticated"
    assert reader.read(expect=1, timeout=1.0) == []


def test_an_oversized_body_gets_413_and_publishes_nothing(client, pull, unique):
    reader = pull("utterances")
    body = json.dumps({"user_id": "u1", "text": "あ" * MAX_BODY_BYTES, "conversation_id": unique}).encode()
    response = client.post("/v1/utterances", data=body, content_type="application/json",
                           headers={SIGNATURE_HEADER: sign(SECRET, body)})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert reader.read(expect=1, timeout=1.0) == []


def test_a_flood_from_one_user_gets_429_and_publishes_only_what_was_allowed(settings, pull, unique, monkeypatch_module):
    client = build_app(settings, rate_limit_per_minute=5)
    reader = pull("utterances")

    def post(user: str, n: int = 0) -> int:
        # Distinct bodies: the same body signed in the same second is one signature, and a replay.
        body = json.dumps({"user_id": user, "text": f"hello {n}", "conversation_id": f"{user}{unique}"}).encode()
        response = client.post("/v1/utterances", data=body, content_type="application/json",
                               headers={SIGNATURE_HEADER: sign(SECRET, body)})
        if response.status_code == 429:
            assert response.get_json()["error"]["code"] == "rate_limited"
            assert int(response.headers["Retry-After"]) >= 1
        return response.status_code

    flood = [post("flooder", n) for n in range(8)]
    assert flood == [202] * 5 + [429] * 3
    assert post("someone-else") == 202  # the limit is per user
    assert len(reader.read(expect=6, timeout=10, settle=1.0)) == 6
