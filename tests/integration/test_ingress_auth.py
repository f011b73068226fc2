"""Ingress with AUTH_MODE=required, in process, publishing to the Pub/Sub emulator:
a bad or missing credential gets 401 JSON and publishes nothing."""

from __future__ import annotations

import base64
import json

import pytest

from shared.auth import SIGNATURE_HEADER, sign
from tests.support import ingress_with_auth

SECRET = "integration-secret"


def unsigned_id_token(project: str, uid: str) -> str:
    """An ID token as the Firebase Auth emulator issues it: alg none, no signature."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"iss": f"https://securetoken.google.com/{project}", "aud": project, "sub": uid,
              "iat": 1_700_000_000, "exp": 4_100_000_000, "auth_time": 1_700_000_000}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.fixture(scope="module")
def client(settings, monkeypatch_module):
    # firebase_admin accepts the Auth emulator's unsigned tokens when this is set.
    monkeypatch_module.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9")
    return ingress_with_auth(settings, SECRET, "ingress-auth")


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def body_of(unique: str, user_id: str = "u1") -> bytes:
    return json.dumps({"user_id": user_id, "text": "猫が好きです", "conversation_id": unique}).encode()


@pytest.mark.parametrize(
    "why, headers_for",
    [
        ("no credential", lambda body, project: {}),
        ("bad signature", lambda body, project: {SIGNATURE_HEADER: sign("wrong-secret", body)}),
        ("signature of another body", lambda body, project: {SIGNATURE_HEADER: sign(SECRET, body + b"\n")}),
        ("replayed signature", lambda body, project: {SIGNATURE_HEADER: sign(SECRET, body, timestamp=1_600_000_000)}),
        ("token for another project", lambda body, project: {"Authorization": "Bearer " + unsigned_id_token("other", "u1")}),
        ("garbage token", lambda body, project: {"Authorization": "Bearer not.a.jwt"}),
    ],
)
def test_refused_requests_get_401_and_publish_nothing(client, settings, pull, unique, why, headers_for):
    reader = pull("utterances")
    body = body_of(unique)
    response = client.post("/v1/utterances", data=body, content_type="application/json", headers=headers_for(body, settings.project))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"
    assert [m for m in reader.read(expect=1, timeout=1.5) if json.loads(m.data)["conversation_id"] == unique] == []


@pytest.mark.parametrize(
    "why, headers_for",
    [
        ("signed webhook", lambda body, project: {SIGNATURE_HEADER: sign(SECRET, body)}),
        ("ID token of the user", lambda body, project: {"Authorization": "Bearer " + unsigned_id_token(project, "u1")}),
    ],
)
def test_accepted_requests_are_published(client, settings, pull, unique, why, headers_for):
    reader = pull("utterances")
    body = body_of(unique)
    response = client.post("/v1/utterances", data=body, content_type="application/json", headers=headers_for(body, settings.project))
    assert response.status_code == 202, response.get_data(as_text=True)
    (message,) = reader.read(expect=1)
    assert json.loads(message.data)["conversation_id"] == unique


def test_a_token_holder_cannot_speak_for_another_user(client, settings, pull, unique):
    reader = pull("utterances")
    body = body_of(unique, user_id="someone-else")
    token = unsigned_id_token(settings.project, "u1")
    response = client.post("/v1/utterances", data=body, content_type="application/json", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert reader.read(expect=1, timeout=1.5) == []
