"""A local stand-in for the Firebase Realtime Database: REST + server-sent events.

    python -m infra.local.rtdb_server --port 8607 [--keepalive 1.0]

A dev tool for the local stack and the tests; production code never imports it.
The official RTDB emulator cannot run on this machine (firebase-tools needs
Java 21 and downloads its JAR), so this serves exactly what ``firebase_admin.db``
(7.7) sends over REST (tests/rtdb_conformance drives each request through
firebase_admin itself), plus what a browser's ``EventSource`` needs:

- ``<path>.json`` with GET / PUT / PATCH (multi-path keys) / POST (push id) /
  DELETE; ``print=silent`` answers 204; one tree per ``ns`` query parameter.
- ``X-Firebase-ETag: true`` reads, ``if-none-match`` (304) and ``if-match``
  (412 with the ETag and the current value), so transactions work.
- ``orderBy`` ("$key", "$value", "child/path") with ``limitToFirst`` /
  ``limitToLast`` / ``startAt`` / ``endAt`` / ``equalTo``; ``shallow=true``.
- ``Accept: text/event-stream``: a ``put`` of the current value, then ``put`` /
  ``patch`` events for writes at, above and below the path, and keep-alives.
- Data rules: nulls and empty objects vanish, arrays become index-keyed objects.
- CORS for the origins given with ``--allow-origin`` only (the web chat page,
  served from another port); a request from any other browser origin is
  refused with 403 (it has no auth, so a page elsewhere must not read or
  write it). Clients that send no ``Origin`` (firebase_admin, curl) pass.

What it does NOT do is listed in tests/rtdb_conformance/README.md (no rules,
no auth, no websocket protocol, no priorities, no server values, no indexes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import queue
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PUSH_CHARS = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
FORBIDDEN_KEY_CHARS = set(".$#[]")
MAX_KEY_BYTES = 768


class RtdbError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ----- data rules -------------------------------------------------------------
def normalize(value: Any) -> Any:
    """Nulls and empty objects vanish; arrays become index-keyed objects."""
    if isinstance(value, list):
        value = {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        out = {}
        for key, child in value.items():
            check_key(key)
            child = normalize(child)
            if child is not None:
                out[key] = child
        return out or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def exported(value: Any) -> Any:
    """Objects whose keys are mostly 0..n come back as arrays, as RTDB answers."""
    if not isinstance(value, dict):
        return value
    value = {k: exported(v) for k, v in value.items()}
    if all(k.isdigit() and str(int(k)) == k for k in value):
        top = max(int(k) for k in value)
        if top < 2 * len(value):
            return [value.get(str(i)) for i in range(top + 1)]
    return value


def check_key(key: str) -> None:
    if not key or FORBIDDEN_KEY_CHARS & set(key) or "/" in key or len(key.encode()) > MAX_KEY_BYTES:
        raise RtdbError(400, f"Invalid key {key!r}: keys must be non-empty and cannot contain . $ # [ ] /")


def split_path(path: str) -> list[str]:
    segments = [s for s in path.split("/") if s]
    for segment in segments:
        check_key(segment)
    return segments


def get_at(tree: Any, segments: list[str]) -> Any:
    for segment in segments:
        if not isinstance(tree, dict) or segment not in tree:
            return None
        tree = tree[segment]
    return tree


def set_at(tree: Any, segments: list[str], value: Any) -> Any:
    """Returns the tree with ``value`` at ``segments`` (pruned of emptied parents)."""
    if not segments:
        return value
    node = dict(tree) if isinstance(tree, dict) else {}
    child = set_at(node.get(segments[0]), segments[1:], value)
    if child is None:
        node.pop(segments[0], None)
    else:
        node[segments[0]] = child
    return node or None


def etag_of(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha1(canonical.encode()).hexdigest()


# ----- ordering (the RTDB sort order: null < false < true < numbers < strings < objects) --
def _rank(value: Any) -> tuple:
    if value is None:
        return (0,)
    if value is False:
        return (1,)
    if value is True:
        return (2,)
    if isinstance(value, (int, float)):
        return (3, value)
    if isinstance(value, str):
        return (4, value)
    return (5,)


def _key_rank(key: str) -> tuple:
    # Keys that are 32-bit integers sort numerically, before all other keys.
    if key.lstrip("-").isdigit() and -(2**31) <= int(key) < 2**31 and str(int(key)) == key:
        return (0, int(key), "")
    return (1, 0, key)


def run_query(value: Any, params: dict[str, str]) -> Any:
    query_keys = {"limitToFirst", "limitToLast", "startAt", "endAt", "equalTo"} & set(params)
    if "orderBy" not in params:
        if query_keys:
            raise RtdbError(400, "orderBy must be defined when other query parameters are defined")
        return value
    if not isinstance(value, dict):
        return value
    try:
        order_by = json.loads(params["orderBy"])
        bounds = {k: json.loads(params[k]) for k in ("startAt", "endAt", "equalTo") if k in params}
        limits = {k: int(params[k]) for k in ("limitToFirst", "limitToLast") if k in params}
    except ValueError:
        raise RtdbError(400, "Constraint index field must be a JSON primitive") from None
    if not isinstance(order_by, str):
        raise RtdbError(400, "orderBy must be a string")
    if len(limits) > 1:
        raise RtdbError(400, "limitToFirst and limitToLast cannot both be set")

    def sort_key(item):
        key, child = item
        if order_by == "$key":
            return (_key_rank(key),)
        index = child if order_by == "$value" else get_at(child, split_path(order_by))
        return (_rank(index), _key_rank(key))

    def index_rank(bound):
        return (_key_rank(str(bound)),) if order_by == "$key" else (_rank(bound),)

    items = sorted(value.items(), key=sort_key)
    if "equalTo" in bounds:
        bounds["startAt"] = bounds["endAt"] = bounds["equalTo"]
    if "startAt" in bounds:
        items = [i for i in items if sort_key(i)[:1] >= index_rank(bounds["startAt"])]
    if "endAt" in bounds:
        items = [i for i in items if sort_key(i)[:1] <= index_rank(bounds["endAt"])]
    if "limitToFirst" in limits:
        items = items[: limits["limitToFirst"]]
    if "limitToLast" in limits:
        items = items[-limits["limitToLast"]:] if limits["limitToLast"] else []
    return dict(items)


def shallow(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {k: (True if isinstance(v, dict) else v) for k, v in value.items()}


class PushIds:
    """20-character ids that sort by creation time (8 time chars + 12 random)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = [0] * 12

    def next(self) -> str:
        with self._lock:
            now = int(time.time() * 1000)
            if now == self._last_ms:
                # Same millisecond: increment the random part so ids stay ordered.
                i = 11
                while i >= 0 and self._last_random[i] == 63:
                    self._last_random[i] = 0
                    i -= 1
                self._last_random[i] += 1
            else:
                self._last_ms = now
                self._last_random = [random.randrange(64) for _ in range(12)]
            time_chars = []
            for _ in range(8):
                time_chars.append(PUSH_CHARS[now % 64])
                now //= 64
            return "".join(reversed(time_chars)) + "".join(PUSH_CHARS[r] for r in self._last_random)


# ----- the database -------------------------------------------------------------
class Database:
    """Trees per namespace, one lock, and the listeners of each namespace."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trees: dict[str, Any] = {}
        self._listeners: dict[str, list[tuple[list[str], queue.Queue]]] = {}
        self.push_ids = PushIds()

    def read(self, ns: str, segments: list[str]) -> Any:
        with self._lock:
            return get_at(self._trees.get(ns), segments)

    def write(self, ns: str, segments: list[str], value: Any, if_match: str | None = None) -> tuple[bool, Any]:
        """Set (``value`` may be None: delete). Returns (written, value now at the path)."""
        value = normalize(value)
        with self._lock:
            current = get_at(self._trees.get(ns), segments)
            if if_match is not None and if_match != etag_of(current):
                return False, current
            self._apply(ns, [(segments, value)], event=("put", segments, value))
            return True, value

    def update(self, ns: str, segments: list[str], changes: dict) -> None:
        writes = []
        for key, child in changes.items():
            writes.append((segments + split_path(key), normalize(child)))
        with self._lock:
            self._apply(ns, writes, event=("patch", segments, changes))

    def _apply(self, ns: str, writes: list, event: tuple) -> None:
        before = self._trees.get(ns)
        after = before
        for segments, value in writes:
            after = set_at(after, segments, value)
        self._trees[ns] = after
        kind, at, data = event
        for listen_at, sink in self._listeners.get(ns, []):
            old, new = get_at(before, listen_at), get_at(after, listen_at)
            if old == new:
                continue
            if listen_at == at[: len(listen_at)]:  # write at or below the listener
                relative = "/" + "/".join(at[len(listen_at):])
                sink.put((kind, {"path": relative, "data": data if kind == "patch" else normalize(data)}))
            else:  # write above the listener: send its new value
                sink.put(("put", {"path": "/", "data": new}))

    def subscribe(self, ns: str, segments: list[str]) -> tuple[queue.Queue, Any]:
        sink: queue.Queue = queue.Queue()
        with self._lock:
            self._listeners.setdefault(ns, []).append((segments, sink))
            return sink, get_at(self._trees.get(ns), segments)

    def unsubscribe(self, ns: str, sink: queue.Queue) -> None:
        with self._lock:
            self._listeners[ns] = [entry for entry in self._listeners.get(ns, []) if entry[1] is not sink]


# ----- HTTP ---------------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "zatsudan-rtdb-local"
    database: Database
    default_ns: str
    keepalive_s: float
    allowed_origins: frozenset[str] = frozenset()

    def setup(self) -> None:
        super().setup()
        # Without it every small response waits on Nagle + delayed ACK (~40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the stack keeps logs small
        pass

    # -- plumbing
    def _target(self) -> tuple[str, list[str], dict[str, str]]:
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = unquote(url.path)
        if not path.endswith(".json"):
            raise RtdbError(404, "Not found: REST paths end in .json")
        path = path[: -len(".json")]
        return params.get("ns") or self.default_ns, split_path(path), params

    def _origin_refused(self) -> bool:
        origin = self.headers.get("Origin")
        return origin is not None and origin not in self.allowed_origins

    def _cors(self) -> None:
        origin = self.headers.get("Origin")
        if origin is None or origin not in self.allowed_origins:
            return
        self.send_header("Access-Control-Allow-Origin", origin)
        self.send_header("Vary", "Origin")
        self.send_header("Access-Control-Allow-Methods", "GET, PUT, POST, PATCH, DELETE, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Firebase-ETag, If-Match, If-None-Match")
        self.send_header("Access-Control-Expose-Headers", "ETag")

    def _send(self, status: int, body: Any = None, etag: str | None = None, empty: bool = False) -> None:
        payload = b"" if empty else json.dumps(exported(body), ensure_ascii=False, separators=(",", ":")).encode()
        self.send_response(status)
        self._cors()
        if not empty:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        if etag is not None:
            self.send_header("ETag", etag)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise RtdbError(400, "Invalid data; couldn't parse JSON object, array, or value.") from None

    def _handle(self, method) -> None:
        try:
            if self._origin_refused():
                raise RtdbError(403, "Permission denied: origin not allowed")
            method(*self._target())
        except RtdbError as error:
            self._send(error.status, {"error": error.message})
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as error:  # a bug here must still answer JSON
            self._send(500, {"error": f"internal error: {type(error).__name__}: {error}"})

    def do_OPTIONS(self) -> None:
        if self._origin_refused():
            self._send(403, {"error": "Permission denied: origin not allowed"})
            return
        self.send_response(204)
        self._cors()
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._handle(self._get)

    def do_PUT(self) -> None:
        self._handle(self._put)

    def do_PATCH(self) -> None:
        self._handle(self._patch)

    def do_POST(self) -> None:
        self._handle(self._post)

    def do_DELETE(self) -> None:
        self._handle(self._delete)

    # -- methods
    def _get(self, ns: str, segments: list[str], params: dict[str, str]) -> None:
        if "text/event-stream" in (self.headers.get("Accept") or ""):
            return self._stream(ns, segments)
        value = self.database.read(ns, segments)
        etag = etag_of(value)
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, etag=etag, empty=True)
        if params.get("shallow") == "true":
            if set(params) & {"orderBy", "limitToFirst", "limitToLast", "startAt", "endAt", "equalTo"}:
                raise RtdbError(400, "Mixing 'shallow' and querying parameters is not supported")
            return self._send(200, shallow(value))
        wants_etag = (self.headers.get("X-Firebase-ETag") or "").lower() == "true"
        self._send(200, run_query(value, params), etag=etag if wants_etag or "If-None-Match" in self.headers else None)

    def _put(self, ns: str, segments: list[str], params: dict[str, str]) -> None:
        value = self._body()
        if_match = self.headers.get("If-Match")
        written, current = self.database.write(ns, segments, value, if_match=if_match)
        if not written:
            return self._send(412, current, etag=etag_of(current))
        self._answer_write(params, current, etag_of(current) if if_match is not None else None)

    def _patch(self, ns: str, segments: list[str], params: dict[str, str]) -> None:
        changes = self._body()
        if not isinstance(changes, dict):
            raise RtdbError(400, "Invalid data; couldn't parse JSON object: PATCH takes an object")
        self.database.update(ns, segments, changes)
        self._answer_write(params, changes)

    def _post(self, ns: str, segments: list[str], params: dict[str, str]) -> None:
        value = self._body()
        name = self.database.push_ids.next()
        self.database.write(ns, segments + [name], value)
        self._answer_write(params, {"name": name})

    def _delete(self, ns: str, segments: list[str], params: dict[str, str]) -> None:
        self.database.write(ns, segments, None)
        self._answer_write(params, None)

    def _answer_write(self, params: dict[str, str], body: Any, etag: str | None = None) -> None:
        if params.get("print") == "silent":
            return self._send(204, etag=etag, empty=True)
        self._send(200, body, etag=etag)

    def _stream(self, ns: str, segments: list[str]) -> None:
        sink, current = self.database.subscribe(ns, segments)
        try:
            self.send_response(200)
            self._cors()
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")  # the body ends when the stream does
            self.end_headers()
            self._event("put", {"path": "/", "data": current})
            while not self.server.stopping.is_set():
                try:
                    kind, data = sink.get(timeout=self.keepalive_s)
                except queue.Empty:
                    self._event("keep-alive", None)
                    continue
                self._event(kind, data)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            self.database.unsubscribe(ns, sink)
            self.close_connection = True

    def _event(self, kind: str, data: Any) -> None:
        line = json.dumps(exported(data) if kind != "patch" else data, ensure_ascii=False, separators=(",", ":"))
        self.wfile.write(f"event: {kind}\ndata: {line}\n\n".encode())
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], default_ns: str = "default", keepalive_s: float = 1.0,
        allowed_origins: tuple[str, ...] = (),
    ) -> None:
        handler = type("BoundHandler", (Handler,), {
            "database": Database(), "default_ns": default_ns, "keepalive_s": keepalive_s,
            "allowed_origins": frozenset(allowed_origins),
        })
        self.stopping = threading.Event()
        super().__init__(address, handler)

    def shutdown(self) -> None:
        self.stopping.set()
        super().shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.rtdb_server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--ns", default="default", help="namespace for requests without ?ns=")
    # Short keep-alives let a client's listener.close() return quickly (it
    # notices a closed stream only when the next bytes arrive).
    parser.add_argument("--keepalive", type=float, default=1.0, help="seconds between keep-alive events")
    parser.add_argument("--allow-origin", action="append", default=[], help="a browser origin that may call (repeatable)")
    args = parser.parse_args(argv)
    server = Server((args.host, args.port), args.ns, args.keepalive, tuple(args.allow_origin))
    print(f"rtdb local server on http://{args.host}:{args.port} (default ns {args.ns})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
