"""Expired and forged ID tokens get 401: the check firebase_admin runs in
production (google.oauth2.id_token.verify_token against Google's certificates),
here with a key pair of our own served as the certificates."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt
from google.oauth2 import id_token

from shared.auth import Authenticator, Caller
from shared.errors import ApiError

PROJECT = "zatsudan-test"


def key_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public.decode()


GOOGLE_PRIVATE, GOOGLE_PUBLIC = key_pair()
FORGER_PRIVATE, _ = key_pair()


def certificates(_url, method="GET", **_):
    """What Google's certificate URL answers, as a transport request."""
    return SimpleNamespace(status=200, data=json.dumps({"k1": GOOGLE_PUBLIC}).encode())


def make_token(private_pem: str, **claims) -> str:
    now = int(time.time())
    payload = {"iss": f"https://securetoken.google.com/{PROJECT}", "aud": PROJECT, "sub": "u1",
               "iat": now - 60, "exp": now + 3600, "auth_time": now - 60, **claims}
    return jwt.encode(crypt.RSASigner.from_string(private_pem, key_id="k1"), payload).decode()


def verify(token: str) -> dict:
    claims = id_token.verify_token(token, certificates, audience=PROJECT)
    return {**claims, "uid": claims["sub"]}


AUTH = Authenticator("required", None, verify)


def test_a_token_signed_by_the_issuer_is_accepted():
    token = make_token(GOOGLE_PRIVATE)
    assert AUTH.check({"Authorization": f"Bearer {token}"}, b"{}") == Caller("user", "u1")


NOW = int(time.time())


@pytest.mark.parametrize(
    "why, token",
    [
        ("expired", make_token(GOOGLE_PRIVATE, iat=NOW - 7200, exp=NOW - 3600)),
        ("forged: signed with another key", make_token(FORGER_PRIVATE)),
        ("tampered: claims changed after signing", (lambda t: ".".join([t.split(".")[0], make_token(FORGER_PRIVATE, sub="admin").split(".")[1], t.split(".")[2]]))(make_token(GOOGLE_PRIVATE))),
        ("another audience", make_token(GOOGLE_PRIVATE, aud="other-project")),
    ],
)
def test_bad_tokens_are_unauthenticated(why, token):
    with pytest.raises(ApiError) as refused:
        AUTH.check({"Authorization": f"Bearer {token}"}, b"{}")
    assert refused.value.status == 401
