"""A stand-in for the Google Cloud REST APIs ``gcloud functions`` calls, on
loopback, recording every request.

It answers just enough for ``gcloud functions deploy`` to build its full
create request offline (function lookup: not found; runtimes; a source upload
URL that points back here; project number; APIs enabled), then refuses the
create itself, so the recorded body is exactly what gcloud would have sent.
"""

from __future__ import annotations

import json
import re
import threading
from urllib.parse import urlsplit
from dataclasses import dataclass
from http.server import ThreadingHTTPServer

from infra.local.json_handler import JsonRequestHandler

# gcloud sends each of these APIs' calls wherever CLOUDSDK_API_ENDPOINT_OVERRIDES_<API> says.
OVERRIDDEN_APIS = ("cloudfunctions", "cloudresourcemanager", "serviceusage", "cloudbuild", "iam", "run", "secretmanager", "storage")


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    body: bytes

    def json(self):
        return json.loads(self.body)


class FakeGoogleApis:
    def __init__(self, port: int, project_number: str = "123456789") -> None:
        self.port = port
        self.project_number = project_number
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def gcloud_env(self, config_dir: str, token_file: str) -> dict[str, str]:
        """Environment for a gcloud that talks only to this fake: its own empty
        configuration, a dummy access token, no metadata-server probe."""
        env = {
            "CLOUDSDK_CONFIG": config_dir,
            "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": token_file,
            "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
            "NO_GCE_CHECK": "True",
        }
        env.update({f"CLOUDSDK_API_ENDPOINT_OVERRIDES_{api.upper()}": self.url for api in OVERRIDDEN_APIS})
        # gcloud run puts the region in front of the endpoint's host
        # (asia-northeast1-127.0.0.1), which resolves nowhere: every request
        # goes through this fake as an HTTP proxy instead, whatever its host.
        env.update({"CLOUDSDK_PROXY_TYPE": "http", "CLOUDSDK_PROXY_ADDRESS": "127.0.0.1", "CLOUDSDK_PROXY_PORT": str(self.port)})
        return env

    def start(self) -> "FakeGoogleApis":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def recorded(self, method: str, path_part: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and path_part in r.path]

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def _answer(self, method: str, path: str) -> tuple[int, dict]:
        route = path.split("?", 1)[0]
        if route.endswith("/runtimes"):
            return 200, {"runtimes": [{"name": "python311", "environment": "GEN_2", "stage": "GA"}]}
        if route.endswith(":generateUploadUrl"):
            return 200, {"uploadUrl": f"{self.url}upload", "storageSource": {"bucket": "fake", "object": "source.zip"}}
        if route == "/upload":
            return 200, {}
        if method == "GET" and re.fullmatch(r"/v1/projects/[^/]+", route):
            return 200, {"projectId": route.rsplit("/", 1)[1], "projectNumber": self.project_number}
        if method == "GET" and "/services/" in route:
            return 200, {"name": route, "state": "ENABLED"}
        if method == "POST" and route.endswith("/functions"):
            return 400, {"error": {"code": 400, "message": "fake API: create recorded", "status": "FAILED_PRECONDITION"}}
        return 404, {"error": {"code": 404, "message": "fake API: not found", "status": "NOT_FOUND"}}

    def _handler(self):
        fake = self

        class Handler(JsonRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                # As a proxy it is asked for absolute URLs: keep path and query.
                target = urlsplit(self.path)
                path = target.path + (f"?{target.query}" if target.query else "") if target.scheme else self.path
                fake._record(Recorded(self.command, path, body))
                self._answer(*fake._answer(self.command, path))

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler
