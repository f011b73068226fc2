"""Who may call ingress: signed webhooks and signed-in app users.

Two credentials are accepted when ``AUTH_MODE=required`` (the default):

- **Webhook callers** sign the raw body with HMAC-SHA256 over the shared
  secret ``WEBHOOK_SECRET`` and send
  ``X-Zatsudan-Signature: t=<unix seconds>,v1=<hex digest of "<t>.<body>">``.
  A signature older or newer than ``WEBHOOK_TOLERANCE_S`` (300 s) is refused,
  and one already used within that window too (``webhook_signatures`` in
  Firestore, create-only), so a captured request cannot be replayed; a retry
  with the same ``Idempotency-Key`` is answered from its record instead.
- **App clients** send ``Authorization: Bearer <Firebase ID token>``, verified
  with ``firebase_admin.auth.verify_id_token``; the body's ``user_id`` must be
  the token's uid (the security rules key conversations by it).

Anything else gets 401 ``unauthenticated`` and nothing is published.
``AUTH_MODE=off`` (the local demo only) lets every request in.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

from shared.errors import ApiError
from shared.idempotency import HEADER as IDEMPOTENCY_HEADER

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Zatsudan-Signature"
AUTH_MODES = ("required", "off")


@dataclass(frozen=True)
class Caller:
    kind: str  # "webhook" | "user" | "anonymous"
    uid: str | None = None
    # The webhook signature this request used (recorded against replays).
    signature: str | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """Who posted, as an utterance records it: only the same key reads its reply."""
        return f"user:{self.uid}" if self.kind == "user" else self.kind


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-Zatsudan-Signature`` value a webhook caller sends with ``body``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# The header is parsed strictly, before any arithmetic or comparison: an
# unbounded ``t`` would overflow float arithmetic, and a non-ASCII ``v1``
# makes ``hmac.compare_digest`` raise. Either must be a 401, never a 500.
MAX_SIGNATURE_HEADER_CHARS = 256
TIMESTAMP_PATTERN = re.compile(r"[0-9]{1,12}")
DIGEST_PATTERN = re.compile(r"[0-9a-f]{64}")
SIGNATURE_FORMAT = f"{SIGNATURE_HEADER} must be t=<unix seconds>,v1=<64 hex digits>"


@dataclass(frozen=True)
class Signature:
    timestamp: int
    digest: str  # 64 lowercase hex digits


def parse_signature(header: str) -> Signature:
    """``t=<1-12 digits>,v1=<64 hex digits>``, each exactly once; ApiError(401) otherwise."""
    if not isinstance(header, str) or len(header) > MAX_SIGNATURE_HEADER_CHARS or not header.isascii():
        raise ApiError("unauthenticated", SIGNATURE_FORMAT)
    fields: dict[str, str] = {}
    for part in header.split(","):
        key, equals, value = part.strip().partition("=")
        if not equals or key in fields:
            raise ApiError("unauthenticated", SIGNATURE_FORMAT)
        fields[key] = value.strip()
    timestamp, digest = fields.get("t", ""), fields.get("v1", "").lower()
    if not TIMESTAMP_PATTERN.fullmatch(timestamp) or not DIGEST_PATTERN.fullmatch(digest):
        raise ApiError("unauthenticated", SIGNATURE_FORMAT)
    return Signature(int(timestamp), digest)


def verify_signature(header: str, body: bytes, secret: str, tolerance_s: int, now: float | None = None) -> Signature:
    signature = parse_signature(header)
    now = time.time() if now is None else now
    if abs(now - signature.timestamp) > tolerance_s:
        raise ApiError("unauthenticated", f"the signature timestamp is outside the {tolerance_s}s window")
    expected = sign(secret, body, signature.timestamp).partition(",v1=")[2]
    if not hmac.compare_digest(expected.encode("ascii"), signature.digest.encode("ascii")):
        raise ApiError("unauthenticated", "the signature does not match the body")
    return signature


class Authenticator:
    """Checks a request's credential; raises ``ApiError('unauthenticated')``."""

    def __init__(
        self,
        mode: str,
        webhook_secret: str | None,
        verify_id_token: Callable[[str], Mapping],
        tolerance_s: int = 300,
        clock: Callable[[], float] = time.time,
        retry_after_s: int = 5,
        signatures=None,
    ) -> None:
        if mode not in AUTH_MODES:
            raise ValueError(f"AUTH_MODE={mode!r} is not one of {AUTH_MODES}")
        self.mode = mode
        self._secret = webhook_secret
        self._verify_id_token = verify_id_token
        self._tolerance_s = tolerance_s
        self._clock = clock
        self._retry_after_s = retry_after_s
        # shared.stores.SignatureLedger: a signature is good once (None: no replay check).
        self._signatures = signatures

    def check(self, headers: Mapping[str, str], body: bytes) -> Caller:
        if self.mode == "off":
            return Caller("anonymous")
        signature = headers.get(SIGNATURE_HEADER)
        if signature:
            if not self._secret:
                raise ApiError("unauthenticated", "webhook signatures are not accepted here (no WEBHOOK_SECRET)")
            verified = verify_signature(signature, body, self._secret, self._tolerance_s, self._clock())
            self._refuse_replay(verified, headers.get(IDEMPOTENCY_HEADER))
            return Caller("webhook", signature=verified.digest)
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            try:
                claims = self._verify_id_token(token.strip())
            except Exception as error:
                raise self._token_error(error) from None
            return Caller("user", claims["uid"])
        raise ApiError(
            "unauthenticated",
            f"send {SIGNATURE_HEADER} (webhooks) or Authorization: Bearer <Firebase ID token> (apps)",
        )

    def _refuse_replay(self, signature: Signature, idempotency_key: str | None) -> None:
        """A signature is good for one request: the same one again within its
        window is a replay (401), unless it carries the same Idempotency-Key
        (a retry, answered from the idempotency record, publishing nothing)."""
        if self._signatures is None:
            return
        expire_at = datetime.datetime.fromtimestamp(signature.timestamp + self._tolerance_s, datetime.timezone.utc)
        try:
            first = self._signatures.first_use(signature.digest, expire_at, idempotency_key)
        except Exception as error:
            log.warning("could not check the signature for replay: %r", error)
            unavailable = ApiError("unavailable", "could not check the signature right now, try again")
            unavailable.retry_after_s = self._retry_after_s
            raise unavailable from None
        if not first:
            raise ApiError("unauthenticated", "this signature was used before (a replay): sign each request anew")

    def forget(self, caller: Caller) -> None:
        """Un-record the signature of a request that failed on our side (503):
        the caller may retry it as it is, as 503 invites."""
        if self._signatures is None or not caller.signature:
            return
        try:
            self._signatures.forget(caller.signature)
        except Exception:
            log.exception("could not forget the signature of a failed request")

    def _token_error(self, error: Exception) -> ApiError:
        """A rejected token is 401; a verifier that could not do its job is 503.

        When Google's token-signing keys cannot be fetched (or, with
        ``check_revoked``, the user lookup fails), the token may well be good:
        answering 401 would make an app sign its user out. 503 with
        ``Retry-After`` says "try again"."""
        if is_transient_token_error(error):
            log.warning("ID token verification unavailable: %r", error)
            unavailable = ApiError("unavailable", "could not verify the ID token right now, try again")
            unavailable.retry_after_s = self._retry_after_s
            return unavailable
        return ApiError("unauthenticated", f"the ID token was rejected ({type(error).__name__})")

    @staticmethod
    def check_user(caller: Caller, user_id: str) -> None:
        """A signed-in user speaks only as themselves."""
        if caller.kind == "user" and caller.uid != user_id:
            raise ApiError("permission_denied", "user_id must be the signed-in user's uid")


def is_transient_token_error(error: Exception) -> bool:
    """firebase_admin's errors for "could not check" (key fetch, backend down), not "bad token"."""
    try:
        from firebase_admin import auth as firebase_auth, exceptions as firebase_exceptions
    except ImportError:  # pragma: no cover - firebase_admin is a dependency of every function
        return False
    if isinstance(error, (firebase_auth.InvalidIdTokenError, firebase_auth.UserDisabledError)):
        return False  # includes expired and revoked tokens
    return isinstance(
        error,
        (
            firebase_auth.CertificateFetchError,
            firebase_exceptions.UnavailableError,
            firebase_exceptions.DeadlineExceededError,
            firebase_exceptions.InternalError,
            firebase_exceptions.UnknownError,
            firebase_exceptions.ResourceExhaustedError,
        ),
    )


def warn_if_off(mode: str) -> None:
    if mode == "off":
        log.warning(
            "AUTH_MODE=off: ingress accepts utterances from ANYONE without a signature or ID token. "
            "Local demo only; production must run with AUTH_MODE=required."
        )
