"""The Firestore emulator's own count of writes: a trigger on every document.

The emulator, started with ``--functions_emulator=HOST:PORT``, posts one
event per document written or deleted to
``http://HOST:PORT/functions/projects/<p>/triggers/<name>`` for each trigger
registered at ``PUT /emulator/v1/projects/<p>/triggers/<name>`` (the call the
Firebase functions emulator makes). ``WriteEvents`` registers a trigger on
``{path=**}`` and counts the events: one per document a successful commit
wrote (``value`` present) or deleted (only ``oldValue``). This count is the
emulator's, taken after the commit was applied, independent of the metering
proxies in front of it, so the cost bench checks its write and delete counts
against it.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

TRIGGER = "cost-bench-every-document"


class WriteEvents:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.address = f"{host}:{port}"
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        events = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                events._record(json.loads(body or b"{}").get("data", {}))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:  # one line per write would drown the bench's output
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True

    def start(self) -> "WriteEvents":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def register(self, firestore_host: str, project: str) -> None:
        """Every document of the default database, from now on."""
        answer = requests.put(
            f"http://{firestore_host}/emulator/v1/projects/{project}/triggers/{TRIGGER}",
            json={"eventTrigger": {
                "eventType": "providers/cloud.firestore/eventTypes/document.write",
                "resource": f"projects/{project}/databases/(default)/documents/{{path=**}}",
                "service": "firestore.googleapis.com",
            }},
            timeout=10,
        )
        answer.raise_for_status()

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.counts)

    def _record(self, data: dict) -> None:
        document = data.get("value") or data.get("oldValue") or {}
        group = collection_group(document.get("name", ""))
        kind = "writes" if data.get("value") else "deletes"
        # A document created with a TTL field is deleted later, and billed a delete then.
        expires = not data.get("oldValue") and "expire_at" in (data.get("value") or {}).get("fields", {})
        with self._lock:
            self.counts[kind] += 1
            self.counts[f"{kind}:{group}"] += 1
            self.counts["ttl_deletes_later"] += expires


def collection_group(document_name: str) -> str:
    """``projects/p/databases/(default)/documents/conversations/c/turns/t`` -> ``turns``."""
    path = document_name.split("/documents/", 1)[-1].split("/")
    return path[-2] if len(path) >= 2 else "?"
