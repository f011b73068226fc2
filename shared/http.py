"""HTTP plumbing for JSON endpoints: routing, body parsing, error mapping.

Handlers are plain functions of a parsed body that return a dict or raise
``ApiError``; this wrapper turns everything into JSON responses, so a caller
never sees an HTML error page and never a 5xx for what it sent.
"""

from __future__ import annotations

import json
import logging
import re
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
    # ``authenticate(headers, raw_body) -> caller`` runs before the body is
    # parsed (a signature covers the raw bytes); the handler then gets
    # ``(body, caller)``. It raises ApiError to refuse.
    authenticate: Callable[[Any, bytes], Any] | None = None
    # ``idempotent(key, scope, body, handle) -> dict`` answers a request that
    # carries an Idempotency-Key (shared/idempotency.py); scope: path + caller.
    idempotent: Callable[[str, str, Any, Callable[[], dict]], dict] | None = None
    # ``takes_raw``: the handler gets ``(headers, raw_body)`` (it checks its own
    # signature, as the LINE webhook does), bodies up to ``max_body_bytes``.
    takes_raw: bool = False
    max_body_bytes: int = MAX_BODY_BYTES


# A path segment ``{name}`` in a route matches one segment, handed to the
# handler with the query's parameters: ``handler(params, caller)``.
PATH_PARAMETER = re.compile(r"\{(\w+)\}")


def _path_parameters(template: str, path: str) -> dict[str, str] | None:
    """The parameters ``path`` gives ``template``'s ``{name}`` segments, or None if it does not match."""
    want, have = template.split("/"), path.split("/")
    if len(want) != len(have):
        return None
    parameters = {}
    for pattern, segment in zip(want, have):
        name = PATH_PARAMETER.fullmatch(pattern)
        if name:
            parameters[name.group(1)] = segment
        elif pattern != segment:
            return None
    return parameters


def _find(routes: Mapping[tuple[str, str], Route], path: str) -> dict[str, tuple[Route, dict[str, str] | None]]:
    """Method -> (route, its path parameters; None for a route without any) of the routes matching ``path``."""
    found = {}
    for (method, template), route in routes.items():
        if PATH_PARAMETER.search(template):
            parameters = _path_parameters(template, path)
            if parameters is not None:
                found[method] = (route, parameters)
        elif template == path:
            found[method] = (route, None)
    return found


def signed_target(request: flask.Request) -> bytes:
    """What a signature covers on a request without a body: its path and query."""
    query = request.query_string.decode("latin-1")
    return (request.path + (f"?{query}" if query else "")).encode("utf-8", "surrogateescape")


# Werkzeug's refusals of what never reached a route (functions-framework's own
# routing: a path with a line break in it matches none of its rules), by status.
ROUTING_ERROR_CODES = {400: "invalid_argument", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def answer_routing_error(error) -> flask.Response:
    """A werkzeug ``HTTPException`` as our JSON error (functions-framework's error handler)."""
    status = getattr(error, "code", None) or 400
    code = ROUTING_ERROR_CODES.get(status, "invalid_argument" if status < 500 else "internal")
    return respond(ApiError(code, f"{getattr(error, 'name', 'refused')}: no endpoint for this request").body(), status)


def respond(body: dict, status: int) -> flask.Response:
    return flask.Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )


def read_json(request: flask.Request, max_bytes: int = MAX_BODY_BYTES) -> Any:
    return parse_json(read_body(request, max_bytes))


def read_body(request: flask.Request, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    mimetype = (request.mimetype or "").lower()
    if mimetype != "application/json":
        raise ApiError("unsupported_media_type", "send the body as application/json")
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError("payload_too_large", f"the body is larger than {max_bytes} bytes")
    raw = request.stream.read(max_bytes + 1)  # bounded even without Content-Length
    if len(raw) > max_bytes:
        raise ApiError("payload_too_large", f"the body is larger than {max_bytes} bytes")
    return raw


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError("invalid_json", "the body is not valid UTF-8 JSON") from None


def serve(
    request: flask.Request, routes: Mapping[tuple[str, str], Route], cors_origins: tuple[str, ...] = ()
) -> flask.Response:
    """Dispatch ``request`` to its route; map every failure to a JSON answer.

    Browsers on ``cors_origins`` ("*": any) may call the routes: OPTIONS
    preflights are answered here, and every answer carries the CORS headers."""
    response = _dispatch(request, routes)
    origin = request.headers.get("Origin")
    if origin and ("*" in cors_origins or origin in cors_origins):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = ", ".join(sorted({m for m, p in routes}))
            response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization, X-Zatsudan-Signature, Idempotency-Key"
            response.headers["Access-Control-Max-Age"] = "600"
    return response


def _dispatch(request: flask.Request, routes: Mapping[tuple[str, str], Route]) -> flask.Response:
    try:
        path = request.path.rstrip("/") or "/"
        matching = _find(routes, path)
        if request.method == "OPTIONS" and matching:
            return flask.Response(status=204)
        if request.method not in matching:
            if matching:
                raise ApiError("method_not_allowed", f"{request.method} is not allowed on {path}")
            raise ApiError("not_found", f"no endpoint at {path}")
        route, parameters = matching[request.method]
        if route.takes_raw:
            result = route.handler(request.headers, read_body(request, route.max_body_bytes))
        elif parameters is not None:
            caller = route.authenticate(request.headers, signed_target(request)) if route.authenticate else None
            result = route.handler({**request.args.to_dict(), **parameters}, caller)
        elif route.authenticate is not None:
            raw = read_body(request)
            caller = route.authenticate(request.headers, raw)
            body = parse_json(raw)
            key = request.headers.get("Idempotency-Key")
            if key is not None and route.idempotent is not None:
                scope = f"{path}|{getattr(caller, 'kind', '')}|{getattr(caller, 'uid', None) or ''}"
                result = route.idempotent(key, scope, body, lambda: route.handler(body, caller))
            else:
                result = route.handler(body, caller)
        elif route.takes_json:
            result = route.handler(read_json(request))
        else:
            result = route.handler()
        return respond(result, route.status)
    except ApiError as error:
        if error.status >= 500:
            log.error("request failed: %s", error.message)
        response = respond(error.body(), error.status)
        if error.retry_after_s is not None:
            response.headers["Retry-After"] = str(error.retry_after_s)
        return response
    except Exception:
        log.exception("unhandled error")
        error = ApiError("internal", "internal error")
        return respond(error.body(), error.status)
