"""Who may call ingress: HMAC-signed webhooks, Firebase ID tokens, or (demo) anyone."""

from __future__ import annotations

import json

import flask
import pytest

from shared import app as app_module
from shared.auth import SIGNATURE_HEADER, Authenticator, Caller, sign
from shared.config import Settings
from shared.errors import ApiError

from .test_app import FakeClients

SECRET = "s3cret"
NOW = 1_700_000_000
BODY = json.dumps({"user_id": "u1", "text": "猫が好きです"}).encode()


def _verify(token: str) -> dict:
    if token != "good-token":
        raise ValueError("bad token")
    return {"uid": "u1"}


def _auth(mode="required", secret=SECRET) -> Authenticator:
    return Authenticator(mode, secret, _verify, tolerance_s=300, clock=lambda: NOW)


ACCEPTED = [
    ("fresh signature", {SIGNATURE_HEADER: sign(SECRET, BODY, NOW)}, Caller("webhook")),
    ("signature within the window", {SIGNATURE_HEADER: sign(SECRET, BODY, NOW - 299)}, Caller("webhook")),
    ("valid ID token", {"Authorization": "Bearer good-token"}, Caller("user", "u1")),
    ("bearer scheme in any case", {"Authorization": "bearer good-token"}, Caller("user", "u1")),
]


@pytest.mark.parametrize("why, headers, caller", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted_credentials(why, headers, caller):
    assert _auth().check(headers, BODY) == caller


REFUSED = [
    ("no credential", {}),
    ("wrong secret", {SIGNATURE_HEADER: sign("other", BODY, NOW)}),
    ("signature of another body", {SIGNATURE_HEADER: sign(SECRET, BODY + b" ", NOW)}),
    ("replayed: too old", {SIGNATURE_HEADER: sign(SECRET, BODY, NOW - 301)}),
    ("from the future", {SIGNATURE_HEADER: sign(SECRET, BODY, NOW + 301)}),
    ("malformed signature", {SIGNATURE_HEADER: "sha256=abc"}),
    ("non-numeric timestamp", {SIGNATURE_HEADER: "t=soon,v1=abc"}),
    ("bad ID token", {"Authorization": "Bearer forged"}),
    ("empty bearer", {"Authorization": "Bearer "}),
    ("basic auth", {"Authorization": "Basic dTpw"}),
    # Malformed headers: parsed strictly, never an OverflowError or TypeError (a 500).
    ("400-digit timestamp", {SIGNATURE_HEADER: "t=" + "9" * 400 + ",v1=ab"}),
    ("non-ASCII digest", {SIGNATURE_HEADER: f"t={NOW},v1=é"}),
    ("non-ASCII digest of the right length", {SIGNATURE_HEADER: f"t={NOW},v1=" + "é" * 64}),
    ("short digest", {SIGNATURE_HEADER: f"t={NOW},v1=abc"}),
    ("digest not hex", {SIGNATURE_HEADER: f"t={NOW},v1=" + "z" * 64}),
    ("negative timestamp", {SIGNATURE_HEADER: f"t=-{NOW},v1=" + "0" * 64}),
    ("fullwidth digits", {SIGNATURE_HEADER: "t=１７００００００００,v1=" + "0" * 64}),
    ("duplicate t", {SIGNATURE_HEADER: sign(SECRET, BODY, NOW) + f",t={NOW}"}),
    ("huge header", {SIGNATURE_HEADER: sign(SECRET, BODY, NOW) + ",x=" + "a" * 5000}),
]


@pytest.mark.parametrize("why, headers", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_credentials_are_unauthenticated(why, headers):
    with pytest.raises(ApiError) as raised:
        _auth().check(headers, BODY)
    assert (raised.value.code, raised.value.status) == ("unauthenticated", 401)


def test_a_signature_is_refused_when_no_secret_is_configured():
    with pytest.raises(ApiError, match="WEBHOOK_SECRET"):
        _auth(secret=None).check({SIGNATURE_HEADER: sign(SECRET, BODY, NOW)}, BODY)


def test_auth_off_lets_anyone_in():
    assert _auth(mode="off").check({}, BODY) == Caller("anonymous")


def test_an_unknown_mode_is_refused_at_build_time():
    with pytest.raises(ValueError, match="AUTH_MODE"):
        Authenticator("maybe", SECRET, _verify)


@pytest.mark.parametrize(
    "caller, user_id, allowed",
    [(Caller("user", "u1"), "u1", True), (Caller("user", "u1"), "u2", False),
     (Caller("webhook"), "anyone", True), (Caller("anonymous"), "anyone", True)],
)
def test_a_signed_in_user_speaks_only_as_themselves(caller, user_id, allowed):
    if allowed:
        Authenticator.check_user(caller, user_id)
    else:
        with pytest.raises(ApiError) as raised:
            Authenticator.check_user(caller, user_id)
        assert raised.value.status == 403


# ----- through the ingress handler: 401 JSON, nothing published -----------------------------
class _TokenClients(FakeClients):
    def verify_id_token(self, token):
        return _verify(token)


def _post(handler, body: bytes, headers: dict):
    with flask.Flask(__name__).test_request_context(
        "/v1/utterances", method="POST", data=body, content_type="application/json", headers=headers
    ):
        return handler(flask.request)


@pytest.mark.parametrize(
    "why, headers, status",
    [
        # Signed when the test runs, not when it is collected: a signature
        # is only good for WEBHOOK_TOLERANCE_S, and a full run takes longer.
        ("bad signature", lambda: {SIGNATURE_HEADER: sign("wrong", BODY)}, 401),
        ("no credential", lambda: {}, 401),
        ("good signature", lambda: {SIGNATURE_HEADER: sign(SECRET, BODY)}, 202),
        ("good token", lambda: {"Authorization": "Bearer good-token"}, 202),
    ],
)
def test_ingress_with_auth_required(why, headers, status):
    clients = _TokenClients()
    handler = app_module.build_ingress(Settings(project="p", auth_mode="required", webhook_secret=SECRET, algorithm_weights="tfidf:0.5,bm25:0.5"), clients)
    response = _post(handler, BODY, headers())
    assert response.status_code == status
    if status == 401:
        assert response.get_json()["error"]["code"] == "unauthenticated"
        assert clients.publisher.published == []
    else:
        assert len(clients.publisher.published) == 1


@pytest.mark.parametrize(
    "header",
    ["t=" + "9" * 400 + ",v1=ab", "t={now},v1=é", "t={now},v1=" + "é" * 64, "t=1e400,v1=00", "t=,v1=", "\x00"],
)
def test_malformed_signature_headers_are_401_json_never_500(header, caplog):
    clients = _TokenClients()
    handler = app_module.build_ingress(Settings(project="p", auth_mode="required", webhook_secret=SECRET), clients)
    # Werkzeug hands header values over as latin-1 text, as a real server does.
    value = header.replace("{now}", str(int(__import__("time").time())))
    response = _post(handler, BODY, {SIGNATURE_HEADER: value.encode("utf-8").decode("latin-1")})
    assert (response.status_code, response.get_json()["error"]["code"]) == (401, "unauthenticated")
    assert clients.publisher.published == []
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_ingress_refuses_a_token_holder_speaking_for_someone_else():
    clients = _TokenClients()
    handler = app_module.build_ingress(Settings(project="p", auth_mode="required", algorithm_weights="tfidf:0.5,bm25:0.5"), clients)
    body = json.dumps({"user_id": "u2", "text": "hi"}).encode()
    response = _post(handler, body, {"Authorization": "Bearer good-token"})
    assert (response.status_code, response.get_json()["error"]["code"]) == (403, "permission_denied")
    assert clients.publisher.published == []


def test_ingress_warns_loudly_when_auth_is_off(caplog):
    app_module.build_ingress(Settings(auth_mode="off"), FakeClients())
    assert any("AUTH_MODE=off" in record.getMessage() and record.levelname == "WARNING" for record in caplog.records)


# ----- the verifier could not check: 503 with Retry-After, not 401 ------------------
def _firebase_verifier(monkeypatch, check_revoked=False):
    """The real firebase_admin verifier, its key URL pointed at a closed port (as when Google is unreachable)."""
    import uuid

    import firebase_admin
    from firebase_admin import _token_gen, auth

    from shared.clients import AnonymousCredential

    monkeypatch.setattr(_token_gen, "ID_TOKEN_CERT_URI", "http://127.0.0.1:9/keys")
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    app = firebase_admin.initialize_app(AnonymousCredential(), {"projectId": "p"}, name=f"t-{uuid.uuid4().hex[:8]}")
    return lambda token: auth.verify_id_token(token, app=app, check_revoked=check_revoked)


def _rs256_token(project="p") -> str:
    import base64
    import time as _time

    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(_time.time())
    claims = {"iss": f"https://securetoken.google.com/{project}", "aud": project, "sub": "u1",
              "iat": now - 10, "exp": now + 3600, "auth_time": now - 10}
    return f"{part({'alg': 'RS256', 'kid': 'k1', 'typ': 'JWT'})}.{part(claims)}.{part({'sig': 1})}"


def test_unfetchable_signing_keys_are_503_with_retry_after_not_401(monkeypatch):
    authenticator = Authenticator("required", SECRET, _firebase_verifier(monkeypatch), retry_after_s=7)
    with pytest.raises(ApiError) as raised:
        authenticator.check({"Authorization": "Bearer " + _rs256_token()}, BODY)
    assert (raised.value.code, raised.value.status, raised.value.retry_after_s) == ("unavailable", 503, 7)


def test_unfetchable_signing_keys_through_ingress_answer_503_json_with_retry_after(monkeypatch):
    verify = _firebase_verifier(monkeypatch)

    class KeylessClients(FakeClients):
        def verify_id_token(self, token):
            return verify(token)

    clients = KeylessClients()
    handler = app_module.build_ingress(Settings(project="p", auth_mode="required"), clients)
    response = _post(handler, BODY, {"Authorization": "Bearer " + _rs256_token()})
    assert (response.status_code, response.get_json()["error"]["code"]) == (503, "unavailable")
    assert int(response.headers["Retry-After"]) > 0
    assert clients.publisher.published == []


@pytest.mark.parametrize("error", ["revoked", "disabled", "expired", "invalid"])
def test_bad_tokens_stay_401(error):
    from firebase_admin import auth

    errors = {
        "revoked": auth.RevokedIdTokenError("revoked"),
        "disabled": auth.UserDisabledError("disabled"),
        "expired": auth.ExpiredIdTokenError("expired", cause=None),
        "invalid": auth.InvalidIdTokenError("invalid"),
    }

    def verify(token):
        raise errors[error]

    with pytest.raises(ApiError) as raised:
        Authenticator("required", SECRET, verify).check({"Authorization": "Bearer t"}, BODY)
    assert raised.value.status == 401


def test_check_revoked_is_a_setting_on_by_default():
    from shared import config

    assert config.load({}).check_revoked is True
    assert config.load({"CHECK_REVOKED": "false"}).check_revoked is False


def test_a_signature_used_before_is_a_replay():
    from shared.stores import SignatureLedger

    from .fakes import FakeFirestore

    authenticator = Authenticator("required", SECRET, _verify, clock=lambda: NOW, signatures=SignatureLedger(FakeFirestore()))
    headers = {SIGNATURE_HEADER: sign(SECRET, BODY, NOW)}
    assert authenticator.check(headers, BODY) == Caller("webhook")
    with pytest.raises(ApiError, match="replay") as raised:
        authenticator.check(headers, BODY)
    assert raised.value.status == 401


def test_a_ledger_that_cannot_be_read_is_503_not_401():
    class Down:
        def first_use(self, *args):
            raise ConnectionError("firestore down")

    authenticator = Authenticator("required", SECRET, _verify, clock=lambda: NOW, signatures=Down())
    with pytest.raises(ApiError) as raised:
        authenticator.check({SIGNATURE_HEADER: sign(SECRET, BODY, NOW)}, BODY)
    assert (raised.value.status, raised.value.retry_after_s) == (503, 5)


def test_a_request_that_failed_with_503_can_be_retried_with_its_signature():
    from .fakes import FakeFirestore

    clients = _TokenClients()
    clients.firestore = FakeFirestore()
    handler = app_module.build_ingress(Settings(project="p", auth_mode="required", webhook_secret=SECRET), clients)
    headers = {SIGNATURE_HEADER: sign(SECRET, BODY)}
    clients.publisher.error = TimeoutError("pubsub down")
    failed = _post(handler, BODY, headers)
    assert failed.status_code == 503
    clients.publisher.error = None
    retried = _post(handler, BODY, headers)  # 503 invites a retry: the same signature is not a replay
    assert retried.status_code == 202, retried.get_data(as_text=True)
    replayed = _post(handler, BODY, headers)  # but once it succeeded, it is
    assert replayed.status_code == 401
