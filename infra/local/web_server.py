"""Serve the web chat page (``web/``) and its ``/config.json`` on loopback.

    python -m infra.local.web_server --port 8608 [--env-file .run/stack.env]

A dev tool of the local stack. ``/config.json`` is built on each request from
the stack's environment file (or this process's environment), so a stack that
switches its reply store serves the new settings at once. Locally the page
signs in against the Auth emulator (``FIREBASE_AUTH_EMULATOR_HOST``); a page
served elsewhere gets the project's web config from ``FIREBASE_WEB_API_KEY``
and ``FIREBASE_AUTH_DOMAIN`` (default ``<project>.firebaseapp.com``). The page itself
decides per reply which watcher to use from the ``reply_path`` it gets back.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
# The page's files: index.html and the bundle built by `npm run build`.
FILES = {"/": WEB / "index.html", "/index.html": WEB / "index.html", "/app.js": WEB / "dist" / "app.js"}


def read_env(env_file: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if env_file and env_file.exists():
        for line in env_file.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                env[key.strip()] = value.strip()
    return env


# The Auth emulator takes any API key; a real project's page needs its own.
EMULATOR_API_KEY = "local-emulator"


def page_config(env: dict[str, str]) -> dict:
    """What the page needs: the Firebase web config to sign in with (and,
    locally, the Auth emulator), where to post, and where each store is."""
    project = env.get("GOOGLE_CLOUD_PROJECT", "zatsudan-local")
    database_url = env.get("FIREBASE_DATABASE_URL", "")
    namespace = urlsplit(database_url).netloc.split(".")[0] if database_url.startswith("https://") else None
    auth_emulator = env.get("FIREBASE_AUTH_EMULATOR_HOST")
    return {
        "firebase": {
            "apiKey": env.get("FIREBASE_WEB_API_KEY") or (EMULATOR_API_KEY if auth_emulator else None),
            "authDomain": env.get("FIREBASE_AUTH_DOMAIN") or f"{project}.firebaseapp.com",
            "projectId": project,
        },
        "authEmulatorHost": auth_emulator,
        "ingressUrl": env.get("INGRESS_URL"),
        "replyStore": env.get("REPLY_STORE", "firestore"),
        "project": project,
        "firestoreHost": env.get("FIRESTORE_EMULATOR_HOST"),
        # Through the emulator host with ?ns=, or straight at https://NAME.firebaseio.com.
        "rtdbUrl": env.get("RTDB_REST_URL") or (database_url.rstrip("/") or None),
        "rtdbNs": namespace if env.get("RTDB_REST_URL") else None,
    }


class Handler(SimpleHTTPRequestHandler):
    env_file: Path | None = None

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args) -> None:
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/config.json":
            return self._reply(200, "application/json", json.dumps(page_config(read_env(self.env_file))).encode())
        file = FILES.get(path)
        if file is None:
            return self._reply(404, "text/plain", b"not found")
        if not file.exists():
            return self._reply(503, "text/plain", f"{file.relative_to(REPO)} is not built: run `make web`".encode())
        kind = "text/html" if file.suffix == ".html" else "text/javascript"
        self._reply(200, f"{kind}; charset=utf-8", file.read_bytes())

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.web_server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--env-file", type=Path, help="stack.env to read settings from on each request")
    args = parser.parse_args(argv)
    handler = type("BoundHandler", (Handler,), {"env_file": args.env_file})
    server = ThreadingHTTPServer((args.host, args.port), partial(handler, directory=str(WEB)))
    server.daemon_threads = True
    print(f"web chat on http://{args.host}:{args.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
