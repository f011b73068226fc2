"""HTTP plumbing for JSON endpoints: routing, body parsing, error mapping.

Handlers are plain functions of a parsed body that return a dict or raise
``ApiError``; this wrapper turns everything into JSON responses, so a caller
never sees an HTML error page and never a 5xx for what it sent.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import flask

from shared.errors import ApiError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024


@dataclass(frozen=True)
class Route:
    handler: Callable[..., dict]
    status: int = 200
    takes_json: bool = False


def respond(body: dict, status: int) -> flask.Response:
    return flask.Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )


def read_json(request: flask.Request, max_bytes: int = MAX_BODY_BYTES) -> Any:
    mimetype = (request.mimetype or "").lower()
    if mimetype != "application/json":
        raise ApiError("unsupported_media_type", "send the body as application/json")
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError("payload_too_large", f"the body is larger than {max_bytes} bytes")
    raw = request.stream.read(max_bytes + 1)  # bounded even without Content-Length
    if len(raw) > max_bytes:
        raise ApiError("payload_too_large", f"the body is larger than {max_bytes} bytes")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError("invalid_json", "the body is not valid UTF-8 JSON") from None


def serve(request: flask.Request, routes: Mapping[tuple[str, str], Route]) -> flask.Response:
    """Dispatch ``request`` to its route; map every failure to a JSON answer."""
    try:
        path = request.path.rstrip("/") or "/"
        route = routes.get((request.method, path))
        if route is None:
            if any(p == path for _, p in routes):
                raise ApiError("method_not_allowed", f"{request.method} is not allowed on {path}")
            raise ApiError("not_found", f"no endpoint at {path}")
        result = route.handler(read_json(request)) if route.takes_json else route.handler()
        return respond(result, route.status)
    except ApiError as error:
        if error.status >= 500:
            log.error("request failed: %s", error.message)
        return respond(error.body(), error.status)
    except Exception:
        log.exception("unhandled error")
        error = ApiError("internal", "internal error")
        return respond(error.body(), error.status)
