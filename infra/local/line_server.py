"""A local stand-in for LINE's Messaging API: records reply and push calls.

    python -m infra.local.line_server --port 8611 --access-token TOKEN

The delivery function's line-bot-sdk talks to it (``LINE_API_URL``) as it
would to https://api.line.me, so the LINE path runs end to end offline. It
keeps the rules a test of our side needs (``ENDPOINTS``):

- ``Authorization: Bearer <channel access token>`` is checked (401 otherwise);
- a reply token works once (400 ``Invalid reply token`` after that);
- a push with an ``X-Line-Retry-Key`` already accepted is 409, and not recorded again.

``GET /_calls`` lists the accepted calls (``DELETE /_calls`` forgets them);
``GET /_health`` answers 200. Loopback only; a dev tool, not LINE.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
from http.server import ThreadingHTTPServer

from infra.local.json_handler import JsonRequestHandler

# Path -> the kind of call recorded.
ENDPOINTS = {"/v2/bot/message/reply": "reply", "/v2/bot/message/push": "push"}
MAX_BODY_BYTES = 64 * 1024


class State:
    def __init__(self, access_token: str) -> None:
        self.access_token = access_token
        self.lock = threading.Lock()
        self.calls: list[dict] = []
        self.used_reply_tokens: set[str] = set()
        self.retry_keys: set[str] = set()

    def accept(self, kind: str, body: dict, retry_key: str | None) -> tuple[int, dict]:
        with self.lock:
            if kind == "reply":
                token = body.get("replyToken")
                if not isinstance(token, str) or token in self.used_reply_tokens:
                    return 400, {"message": "Invalid reply token"}
                self.used_reply_tokens.add(token)
            elif retry_key:
                if retry_key in self.retry_keys:
                    return 409, {"message": "The retry key is already accepted"}
                self.retry_keys.add(retry_key)
            if not isinstance(body.get("messages"), list) or not body["messages"]:
                return 400, {"message": "The request body has 1 error(s)"}
            self.calls.append({"kind": kind, "body": body, "retry_key": retry_key})
        return 200, {"sentMessages": [{"id": str(len(self.calls)), "quoteToken": "q"}]}


class Handler(JsonRequestHandler):
    state: State  # set on the subclass made by serve()

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle delay

    def do_GET(self) -> None:
        if self.path == "/_health":
            return self._answer(200, {"status": "ok"})
        if self.path == "/_calls":
            with self.state.lock:
                return self._answer(200, list(self.state.calls))
        self._answer(404, {"message": "Not found"})

    def do_DELETE(self) -> None:
        if self.path != "/_calls":
            return self._answer(404, {"message": "Not found"})
        with self.state.lock:
            self.state.calls.clear()
        self._answer(200, {})

    def do_POST(self) -> None:
        kind = ENDPOINTS.get(self.path.split("?", 1)[0])
        if kind is None:
            return self._answer(404, {"message": "Not found"})
        if self.headers.get("Authorization") != f"Bearer {self.state.access_token}":
            return self._answer(401, {"message": "Authentication failed. Confirm that the access token in the authorization header is valid."})
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            return self._answer(413, {"message": "Request entity too large"})
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return self._answer(400, {"message": "The request body could not be parsed as JSON"})
        if not isinstance(body, dict):
            return self._answer(400, {"message": "The request body has 1 error(s)"})
        self._answer(*self.state.accept(kind, body, self.headers.get("X-Line-Retry-Key")))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(host: str, port: int, access_token: str) -> Server:
    handler = type("BoundHandler", (Handler,), {"state": State(access_token)})
    return Server((host, port), handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.line_server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--access-token", required=True)
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.access_token).serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
