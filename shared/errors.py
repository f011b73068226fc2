"""Errors a caller can cause, and how each maps to an HTTP answer.

The table is the single place that decides status codes; handlers raise
``ApiError(code, message)`` and the wrapper renders
``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

from http import HTTPStatus

STATUS_BY_CODE: dict[str, HTTPStatus] = {
    "invalid_json": HTTPStatus.BAD_REQUEST,
    "invalid_argument": HTTPStatus.BAD_REQUEST,
    "unknown_field": HTTPStatus.BAD_REQUEST,
    "unauthenticated": HTTPStatus.UNAUTHORIZED,
    "permission_denied": HTTPStatus.FORBIDDEN,
    "not_found": HTTPStatus.NOT_FOUND,
    "method_not_allowed": HTTPStatus.METHOD_NOT_ALLOWED,
    "payload_too_large": HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    "unsupported_media_type": HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    "rate_limited": HTTPStatus.TOO_MANY_REQUESTS,
    # Idempotency-Key: the key was used with another body; or its first
    # request is still being handled (retry shortly).
    "idempotency_key_reused": HTTPStatus.UNPROCESSABLE_ENTITY,
    "request_in_progress": HTTPStatus.CONFLICT,
    # Not the caller's fault: the publish did not go through. Safe to retry.
    "unavailable": HTTPStatus.SERVICE_UNAVAILABLE,
    # A bug on our side; logged with its traceback.
    "internal": HTTPStatus.INTERNAL_SERVER_ERROR,
}


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        if code not in STATUS_BY_CODE:
            raise ValueError(f"unmapped error code {code}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s: int | None = None  # sent as Retry-After (429, 503)

    @property
    def status(self) -> int:
        return int(STATUS_BY_CODE[self.code])

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}
