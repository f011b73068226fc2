"""A callback receiver for the tests: a server on 127.0.0.1 that records every
POST and answers by a script per webhook-id (fail, time out, be slow, succeed).

It de-duplicates nothing itself: the tests count what arrived, so a second
delivery of a webhook-id after a success would show."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Step:
    """One answer: ``status`` after ``delay_s`` seconds."""

    status: int = 200
    delay_s: float = 0.0


OK = Step()


@dataclass
class Call:
    webhook_id: str
    path: str
    headers: dict
    body: bytes
    status: int
    at: float


class Receiver:
    """``script(path, attempt) -> Step`` decides each answer: ``path`` is the
    callback URL's path (a test gives each utterance the behaviour it wants
    there), ``attempt`` counts this webhook-id's earlier calls (from 0)."""

    def __init__(self, script=lambda path, attempt: OK) -> None:
        self.script = script
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                webhook_id = self.headers.get("webhook-id", "")
                with receiver.lock:
                    attempt = sum(1 for c in receiver.calls if c.webhook_id == webhook_id)
                    step = receiver.script(self.path, attempt)
                    receiver.calls.append(Call(webhook_id, self.path, dict(self.headers), body, step.status, time.monotonic()))
                time.sleep(step.delay_s)
                try:
                    self.send_response(step.status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:  # the sender gave up waiting (a timeout): nothing to answer
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/zatsudan") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def of(self, webhook_id: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.webhook_id == webhook_id]
