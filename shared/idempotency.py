"""``Idempotency-Key`` at ingress: a retried request gets the first one's answer.

A caller (a webhook whose POST timed out, an app on a flaky network) sends
``Idempotency-Key: <1-255 printable ASCII characters>``. The first request
with a key reserves it (create-only, in Firestore ``idempotency_keys``),
runs, and records its answer; the same key with the same body within a day
gets that answer again and publishes nothing; the same key with another body
is 422 ``idempotency_key_reused``; while the first is still running, 409
``request_in_progress``. Keys are scoped by caller (webhook, or the signed-in
user) and path, so one caller's key never reveals another's answer. A request
that fails (4xx, 503) releases its key, so it can be retried as it is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any, Callable

from shared.errors import ApiError

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")


def body_hash(body: Any) -> str:
    """The body as JSON with sorted keys: the same request however its keys were ordered."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class Idempotency:
    def __init__(self, keys, status: int = 202) -> None:
        self.keys = keys  # shared.stores.IdempotencyKeys
        self.status = status

    def run(self, key: str, scope: str, body: Any, handle: Callable[[], dict]) -> dict:
        if not KEY_PATTERN.fullmatch(key):
            raise ApiError("invalid_argument", f"{HEADER} must be 1-255 printable ASCII characters")
        doc_id = hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()
        digest = body_hash(body)
        try:
            existing = self.keys.reserve(doc_id, digest)
        except Exception as exc:
            raise ApiError("unavailable", f"could not check the {HEADER}, try again ({type(exc).__name__})") from exc
        if existing is not None:
            if existing.get("body_sha256") != digest:
                raise ApiError("idempotency_key_reused", f"this {HEADER} was used with another body")
            if existing.get("state") != "done":
                busy = ApiError("request_in_progress", f"a request with this {HEADER} is still being handled")
                busy.retry_after_s = 1
                raise busy
            log.info("answered from the idempotency record")
            return existing["response"]
        try:
            result = handle()
        except BaseException:
            try:
                self.keys.release(doc_id)
            except Exception:
                log.exception("could not release the %s after a failed request", HEADER)
            raise
        try:
            self.keys.complete(doc_id, self.status, result)
        except Exception:  # the request is done; a retry will see "in progress" until the record expires
            log.exception("could not record the answer under the %s", HEADER)
        return result
