"""Start and stop the local stack: emulators, local BigQuery and the functions.

    python -m infra.local.stack up      # start everything, write .run/stack.env
    python -m infra.local.stack down    # stop exactly what `up` started
    python -m infra.local.stack status

The functions run from their deploy bundles: ``up`` builds each one with
``infra.deploy.build_bundle`` (the code ``make deploy`` uploads with) and
functions-framework serves the bundle's ``main.py`` with only the bundle on
``PYTHONPATH``, so a difference between the repository layout and a bundle
fails here and in every end-to-end test. Where the local run still differs
from a deployed one, and why (one place: ``BUNDLE_DIFFERENCES`` below).

Every process runs in its own session (process group) and is recorded in
``<run_dir>/pids.json`` with its start time, so ``down`` stops those processes
and nothing else, even if a pid was reused. Ports are ``port_base + offset``
(see ``SERVICES``), so a second stack (the tests', a helper's) runs beside the
first with another base.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import requests

from shared import tables
from shared.messaging import queues, topology

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PROJECT = "zatsudan-local"
DEFAULT_PORT_BASE = 8600
BIGQUERY_VENV = REPO / ".venv-bigquery"
SDK_ROOT_FALLBACK = Path("/usr/lib/google-cloud-sdk")
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0
# The emulators' JVMs: a small heap; the Firestore emulator's direct
# (network) buffers get room of their own. By default the JVM caps them at
# the heap size, and at 256 MiB the emulator ran out under the full test
# suite ("Cannot reserve ... bytes of direct buffer memory"), cancelling
# every stream it was serving. The heap holds the whole reply corpus
# (RealPersonaChat's 42k keyword documents: about 1.2 GB resident once seeded).
#
# Both JIT-compile with C1 only (TieredStopAtLevel=1): C2's compiler threads
# kept recompiling the emulators' hot paths for minutes, and C1's code is
# fast enough for loopback traffic. Measured on the 2-core machine, the
# Firestore emulator's CPU for one utterance's operations (3 gets, a
# 16-document query, 3 commits; 1,500 of them after 100 to warm up): 13.9 ms
# with C2, 8.8 ms with C1 only. The serial collector: no GC threads to
# schedule on two busy cores (the heaps are small and short pauses harmless).
JIT_AND_GC = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
JAVA_OPTIONS = {
    "pubsub": f"-Xmx256m {JIT_AND_GC}",
    "firestore": f"-Xmx2g -XX:MaxDirectMemorySize=1g {JIT_AND_GC}",
}


# How a function here differs from its deployed bundle, and why:
BUNDLE_DIFFERENCES = {
    "bundle folder": "<run_dir>/bundles/<function>, not .build/<function>: make deploy rebuilds "
    ".build from scratch, and two stacks (make up, the tests') must not delete each other's "
    "running code; the builder is the same function",
    "interpreter": "the repository's .venv, a superset of each bundle's trimmed requirements.txt "
    "(tests/infra/test_bundles.py installs each bundle alone into a fresh venv and serves it)",
    "model store": "a relative MODEL_STORE (the default .run/models) is made absolute against the "
    "repository, where make train writes it; the function itself runs in its bundle folder",
    "environment": "the stack's emulators and local settings (Stack.env), not Terraform's function_env",
}


class StackError(RuntimeError):
    pass


@dataclass(frozen=True)
class Service:
    name: str
    offset: int
    kind: str  # "emulator" starts first; "function" needs the emulators


SERVICES = [
    Service("pubsub", 0, "emulator"),
    Service("firestore", 1, "emulator"),
    Service("bigquery", 2, "emulator"),  # REST; gRPC (Storage APIs) on offset 3
    Service("ingress", 4, "function"),
    Service("scorer", 5, "function"),
    Service("log_sink", 6, "function"),
    Service("rtdb", 7, "emulator"),  # infra/local/rtdb_server.py: only when replies go to RTDB
    Service("web", 8, "emulator"),  # infra/local/web_server.py: the web chat page
    # +9: the tests' Firestore emulator with security rules
    Service("delivery", 10, "function"),
    Service("line", 11, "emulator"),  # infra/local/line_server.py: LINE's Messaging API stand-in
    # The Firebase Auth emulator (firebase-tools, plain Node): the page signs in
    # against it and ingress checks its ID tokens (FIREBASE_AUTH_EMULATOR_HOST).
    Service("auth", 12, "emulator"),
]
OPTIONAL_SERVICES = {"rtdb"}
# Ports a service opens besides its own: BigQuery's gRPC (Storage APIs), and
# the hub and logging ports firebase-tools opens next to the Auth emulator.
SIDE_PORTS = {"bigquery grpc": 3, "auth hub": 13, "auth logging": 14}
AUTH_EMULATOR_PACKAGE = REPO / "infra/local/auth_emulator"  # firebase-tools, pinned (make deps installs it)
FIREBASE_CLI = AUTH_EMULATOR_PACKAGE / "node_modules/.bin/firebase"
LOCAL_PUSH_ATTEMPTS_FACTOR = 4  # see provision_push_subscriptions
# The local stack's own keys (production's are Secret Manager secrets): the
# LINE channel's (the stand-in checks the token), and the callbacks' Standard
# Webhooks key ("whsec_" + base64), which a local receiver verifies with.
LOCAL_SECRETS = {
    "LINE_CHANNEL_SECRET": "local-line-channel-secret",
    "LINE_CHANNEL_ACCESS_TOKEN": "local-line-channel-access-token",
    "CALLBACK_SECRET": "whsec_emF0c3VkYW4tbG9jYWwtY2FsbGJhY2sta2V5",
}


def deployed_function(service: str):
    """infra.deploy's Function for a stack service (``log_sink`` is deployed as ``log-sink``)."""
    from infra import deploy

    return next(f for f in deploy.FUNCTIONS if f.source == service)


@functools.cache
def sdk_root() -> Path:
    try:
        out = subprocess.run(
            ["gcloud", "info", "--format=value(installation.sdk_root)"],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout.strip()
        if out:
            return Path(out)
    except (OSError, subprocess.SubprocessError):
        pass
    return SDK_ROOT_FALLBACK


def _process_start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat: identifies a process beyond its pid.

    None when there is no such process, or only its zombie (stopped, not yet
    reaped by a parent that started it in-process, as the tests do)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR: connections in TIME_WAIT from a stopped stack do not
        # make a port busy; only a listener does (servers set it too).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _http_ok(url: str, accept: Callable[[requests.Response], bool]) -> bool:
    try:
        return accept(requests.get(url, timeout=1.0))
    except requests.RequestException:
        return False


class Stack:
    def __init__(
        self,
        run_dir: Path | str = REPO / ".run",
        port_base: int = DEFAULT_PORT_BASE,
        project: str = DEFAULT_PROJECT,
        reply_store: str = "firestore",
        extra_env: dict[str, str] | None = None,
        with_rtdb: bool | None = None,
        service_env: dict[str, dict[str, str]] | None = None,
        service_args: dict[str, list[str]] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir).resolve()  # bundles and logs are found from any working directory
        self.port_base = port_base
        self.project = project
        self.reply_store = reply_store
        self.extra_env = dict(extra_env or {})
        # Per service, on top of everything else: the cost bench points each
        # function at a metering proxy of its own and gives the Firestore
        # emulator a trigger target (bench/cost.py).
        self.service_env = {name: dict(env) for name, env in (service_env or {}).items()}
        self.service_args = {name: list(args) for name, args in (service_args or {}).items()}
        self.logs_dir = self.run_dir / "logs"
        self.pids_file = self.run_dir / "pids.json"
        self.env_file = self.run_dir / "stack.env"
        self._children: list[subprocess.Popen] = []  # started by this object: reaped on down
        # The RTDB server runs when replies go there, or when asked (the tests
        # switch the functions between stores on one stack).
        self.with_rtdb = reply_store == "rtdb" if with_rtdb is None else with_rtdb

    def services(self) -> list[Service]:
        return [s for s in SERVICES if s.name not in OPTIONAL_SERVICES or (s.name == "rtdb" and self.with_rtdb)]

    # ----- addresses -------------------------------------------------------
    def port(self, name: str) -> int:
        return self.port_base + next(s.offset for s in SERVICES if s.name == name)

    def host(self, name: str) -> str:
        return f"127.0.0.1:{self.port(name)}"

    def url(self, name: str) -> str:
        return f"http://{self.host(name)}"

    def side_port(self, name: str) -> int:
        return self.port_base + SIDE_PORTS[name]

    def env(self) -> dict[str, str]:
        """What a client needs to talk to this stack (written to stack.env)."""
        env = {
            "GOOGLE_CLOUD_PROJECT": self.project,
            "INGRESS_URL": self.url("ingress"),
            "PUBSUB_EMULATOR_HOST": self.host("pubsub"),
            "FIRESTORE_EMULATOR_HOST": self.host("firestore"),
            "BIGQUERY_EMULATOR_HOST": self.host("bigquery"),
            "REPLY_STORE": self.reply_store,
            # The local demo takes utterances from anyone (ingress warns at
            # start); production runs with AUTH_MODE=required.
            "AUTH_MODE": "off",
            # firebase_admin (ingress) checks ID tokens against the Auth
            # emulator, revocations included (CHECK_REVOKED stays on, as in
            # production); the web page signs in there.
            "FIREBASE_AUTH_EMULATOR_HOST": self.host("auth"),
            "WEB_URL": self.url("web"),
            "CORS_ORIGINS": self.url("web"),
            # Callbacks go to loopback receivers only here (http allowed, nothing resolved).
            "CALLBACK_LOOPBACK_ONLY": "true",
            "LINE_API_URL": self.url("line"),
            **LOCAL_SECRETS,
        }
        if self.with_rtdb:
            # firebase_admin sends requests to http://HOST/...?ns=<first label of the URL>.
            env["FIREBASE_DATABASE_EMULATOR_HOST"] = self.host("rtdb")
            env["FIREBASE_DATABASE_URL"] = f"https://{self.project}.firebaseio.com"
            env["RTDB_REST_URL"] = self.url("rtdb")  # plain REST and EventSource: add ?ns=<project>
        env.update(self.extra_env)
        return env

    # ----- state -----------------------------------------------------------
    def _recorded(self) -> list[dict]:
        if not self.pids_file.exists():
            return []
        return json.loads(self.pids_file.read_text())

    def _record(self, entries: list[dict]) -> None:
        self.pids_file.write_text(json.dumps(entries, indent=2))

    @staticmethod
    def _alive(entry: dict) -> bool:
        return _process_start_time(entry["pid"]) == entry["start_time"]

    def running(self) -> bool:
        recorded = self._recorded()
        return bool(recorded) and all(self._alive(e) for e in recorded)

    # ----- commands --------------------------------------------------------
    def _command(self, service: Service) -> list[str]:
        return self._base_command(service) + self.service_args.get(service.name, [])

    def _base_command(self, service: Service) -> list[str]:
        port = str(self.port(service.name))
        if service.name == "pubsub":
            binary = sdk_root() / "platform/pubsub-emulator/bin/cloud-pubsub-emulator"
            return [str(binary), "--host=127.0.0.1", f"--port={port}"]
        if service.name == "firestore":
            binary = sdk_root() / "platform/cloud-firestore-emulator/cloud_firestore_emulator"
            return [str(binary), "start", "--host=127.0.0.1", f"--port={port}", f"--project_id={self.project}"]
        if service.name == "rtdb":
            return [str(REPO / ".venv/bin/python"), "-m", "infra.local.rtdb_server", "--port", port, "--ns", self.project,
                    "--allow-origin", self.url("web")]
        if service.name == "line":
            return [str(REPO / ".venv/bin/python"), "-m", "infra.local.line_server", "--port", port,
                    "--access-token", LOCAL_SECRETS["LINE_CHANNEL_ACCESS_TOKEN"]]
        if service.name == "web":
            return [str(REPO / ".venv/bin/python"), "-m", "infra.local.web_server", "--port", port, "--env-file", str(self.env_file)]
        if service.name == "auth":
            return [str(FIREBASE_CLI), "emulators:start", "--only", "auth", "--project", self.project,
                    "--config", str(self.write_auth_emulator_config())]
        if service.name == "bigquery":
            return [
                str(BIGQUERY_VENV / "bin/python"), str(REPO / "infra/local/bigquery_server.py"), "serve",
                "--host", "127.0.0.1", "--port", port,
                "--grpc-port", str(self.side_port("bigquery grpc")),
                "--project", self.project,
                "--data-dir", str(self.run_dir / "bigquery-data"),
            ]
        function = deployed_function(service.name)
        return [
            str(REPO / ".venv/bin/functions-framework"),
            f"--source={self.bundle(service.name) / 'main.py'}",
            f"--target={function.entry_point}",
            "--host=127.0.0.1",
            f"--port={port}",
        ]

    def write_auth_emulator_config(self) -> Path:
        """firebase.json for the Auth emulator: every port it opens from this
        stack's base (two stacks never collide), no UI. Its folder is the
        emulator's working directory (firebase-debug.log lands there)."""
        path = self.run_dir / "auth-emulator" / "firebase.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        emulators = {
            "auth": {"host": "127.0.0.1", "port": self.port("auth")},
            "hub": {"host": "127.0.0.1", "port": self.side_port("auth hub")},
            "logging": {"host": "127.0.0.1", "port": self.side_port("auth logging")},
            "ui": {"enabled": False},
        }
        path.write_text(json.dumps({"emulators": emulators}, indent=2))
        return path

    def bundle(self, service: str) -> Path:
        """Where ``service`` (a function) runs from: its deploy bundle."""
        return self.run_dir / "bundles" / deployed_function(service).name

    def build_bundles(self) -> None:
        from infra import deploy

        for service in SERVICES:
            if service.kind == "function":
                deploy.build_bundle(deployed_function(service.name), self.run_dir / "bundles")

    def _process_env(self, service: Service) -> dict[str, str]:
        env = dict(os.environ)
        # A developer's shell may point at another stack; this one wins.
        env.update(self.env())
        env["PYTHONPATH"] = str(REPO)
        if service.kind == "function":
            # It imports from its bundle only (see BUNDLE_DIFFERENCES).
            env["PYTHONPATH"] = str(self.bundle(service.name))
            from shared.config import Settings

            store = env.get("MODEL_STORE") or Settings.model_store
            if "://" not in store and not os.path.isabs(store):
                env["MODEL_STORE"] = str(REPO / store)
        env["PYTHONUNBUFFERED"] = "1"
        if service.name in ("pubsub", "firestore"):
            env["JAVA_TOOL_OPTIONS"] = JAVA_OPTIONS[service.name]
        if service.name == "bigquery":
            # DuckDB extensions were installed under this HOME (see Makefile).
            env["HOME"] = str(BIGQUERY_VENV / "home")
        if service.name == "auth":
            env["NO_UPDATE_NOTIFIER"] = "1"  # no registry look-up at each start
        env.update(self.service_env.get(service.name, {}))
        return env

    def _ready(self, service: Service) -> bool:
        if service.name in ("pubsub", "firestore"):
            return _http_ok(self.url(service.name), lambda r: r.text.strip() == "Ok")
        if service.name == "bigquery":
            return _http_ok(
                f"{self.url('bigquery')}/bigquery/v2/projects/{self.project}/datasets",
                lambda r: r.status_code == 200,
            )
        if service.name == "ingress":
            return _http_ok(f"{self.url('ingress')}/healthz", lambda r: r.status_code == 200)
        if service.name == "rtdb":
            return _http_ok(f"{self.url('rtdb')}/.json?ns={self.project}", lambda r: r.status_code == 200)
        if service.name == "auth":
            return _http_ok(self.url("auth"), lambda r: r.status_code == 200 and r.json().get("authEmulator", {}).get("ready") is True)
        if service.name == "line":
            return _http_ok(f"{self.url('line')}/_health", lambda r: r.status_code == 200)
        return _http_ok(self.url(service.name), lambda r: True)  # any answer: it serves

    # ----- up / down -------------------------------------------------------
    def _check_prerequisites(self) -> None:
        if not (BIGQUERY_VENV / "bin/local-bigquery").exists():
            raise StackError(f"{BIGQUERY_VENV} is missing: run `make .venv-bigquery` (make up does it)")
        if not FIREBASE_CLI.exists():
            raise StackError(f"{FIREBASE_CLI.relative_to(REPO)} is missing (the Auth emulator): run `make deps` (make up does it)")
        busy = [f"{s.name} ({self.port(s.name)})" for s in self.services() if not _port_is_free(self.port(s.name))]
        busy += [f"{name} ({self.side_port(name)})" for name in SIDE_PORTS if not _port_is_free(self.side_port(name))]
        if busy:
            raise StackError(
                "refusing to start, port(s) busy: " + ", ".join(busy)
                + ". Another stack? `make down`, or choose another STACK_PORT_BASE."
            )

    def _start(self, service: Service, entries: list[dict]) -> subprocess.Popen:
        log_path = self.logs_dir / f"{service.name}.log"
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(
                self._command(service),
                # A function runs in its bundle, as deployed: gunicorn puts the
                # working directory first on sys.path.
                cwd=self._working_directory(service),
                env=self._process_env(service),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._children.append(process)
        entries.append({"name": service.name, "pid": process.pid, "start_time": _process_start_time(process.pid)})
        self._record(entries)  # recorded at once: a failed `up` can still be torn down
        return process

    def _working_directory(self, service: Service) -> Path:
        if service.kind == "function":
            return self.bundle(service.name)
        if service.name == "auth":
            return self.write_auth_emulator_config().parent
        return REPO

    def _wait(self, started: dict[str, subprocess.Popen]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        pending = dict(started)
        while pending:
            for name, process in list(pending.items()):
                service = next(s for s in SERVICES if s.name == name)
                if process.poll() is not None:
                    raise StackError(f"{name} exited with {process.returncode}:\n{self._log_tail(name)}")
                if self._ready(service):
                    del pending[name]
            if pending and time.monotonic() > deadline:
                names = ", ".join(pending)
                raise StackError(f"not ready after {READY_TIMEOUT_S:.0f}s: {names}\n" + self._log_tail(next(iter(pending))))
            time.sleep(0.1)

    def _log_tail(self, name: str, lines: int = 20) -> str:
        path = self.logs_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def up(self) -> dict[str, str]:
        if self.running():
            return self.env()
        if self._recorded():
            self.down()  # a half-dead stack from before: clear it first
        self._check_prerequisites()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.run_dir / "bigquery-data", ignore_errors=True)
        entries: list[dict] = []
        try:
            emulators = {s.name: self._start(s, entries) for s in self.services() if s.kind == "emulator"}
            self._wait(emulators)
            provision(self)
            self.build_bundles()
            functions = {s.name: self._start(s, entries) for s in self.services() if s.kind == "function"}
            self._wait(functions)
            provision_push_subscriptions(self)
        except BaseException:
            self.down()
            raise
        self.write_env_file()
        return self.env()

    def write_env_file(self) -> None:
        """stack.env: what the running services were started with (clients and the web server read it)."""
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env().items()))

    def switch_reply_store(self, reply_store: str) -> dict[str, str]:
        """Restart the functions so they write replies to ``reply_store``.

        The emulators (and their data) stay; push subscriptions keep their
        URLs. Tests use it to run both stores on one stack."""
        if reply_store == "rtdb" and not self.with_rtdb:
            raise StackError("this stack runs without the RTDB server (with_rtdb=False)")
        functions = {s.name for s in SERVICES if s.kind == "function"}
        entries = self._recorded()
        for entry in entries:
            if entry["name"] in functions and self._alive(entry):
                _signal_group(entry["pid"], signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline and any(self._alive(e) for e in entries if e["name"] in functions):
            time.sleep(0.1)
        for entry in entries:
            if entry["name"] in functions:
                _signal_group(entry["pid"], signal.SIGKILL)
        for child in self._children:
            child.poll()
        kept = [e for e in entries if e["name"] not in functions]
        self._record(kept)
        self.reply_store = reply_store
        started = {s.name: self._start(s, kept) for s in SERVICES if s.kind == "function"}
        self._wait(started)
        self.write_env_file()
        return self.env()

    def kill(self, service: str) -> None:
        """SIGKILL one service's process group (a crash: no clean shutdown)."""
        entries = self._recorded()
        for entry in entries:
            if entry["name"] == service:
                _signal_group(entry["pid"], signal.SIGKILL)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline and any(self._alive(e) for e in entries if e["name"] == service):
            for child in self._children:
                child.poll()  # reap: a zombie would still look alive
            time.sleep(0.05)
        self._record([e for e in entries if e["name"] != service])

    def restart(self, service: str) -> None:
        """Start ``service`` again (after ``kill``, or kill it first), and wait until it serves.

        Its push subscriptions keep their URLs: Pub/Sub retries what failed
        meanwhile. It starts with the current ``extra_env``, which stack.env
        then states too (clients, such as the terminal chat, read it there)."""
        self.kill(service)
        entries = self._recorded()
        spec = next(s for s in SERVICES if s.name == service)
        self._wait({service: self._start(spec, entries)})
        self.write_env_file()

    def pids(self) -> dict[str, int]:
        """Recorded, running services -> pid (the leader of its process group)."""
        return {e["name"]: e["pid"] for e in self._recorded() if self._alive(e)}

    def down(self) -> list[str]:
        """Stops the recorded processes (and their process groups); returns their names."""
        entries = [e for e in self._recorded() if self._alive(e)]
        for entry in entries:
            _signal_group(entry["pid"], signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline and any(self._alive(e) for e in entries):
            time.sleep(0.1)
        for entry in entries:
            if self._alive(entry):
                _signal_group(entry["pid"], signal.SIGKILL)
        # Children of a stopped leader (e.g. the JVM under an emulator's
        # wrapper script) share its group: make sure none is left.
        for entry in entries:
            _signal_group(entry["pid"], signal.SIGKILL)
        for child in self._children:
            child.poll()  # reap, so no zombie outlives the stack in this process
        self._children.clear()
        for path in (self.pids_file, self.env_file):
            path.unlink(missing_ok=True)
        return [e["name"] for e in entries]

    def describe(self) -> str:
        rows = [f"  {s.name:<10} {self.url(s.name)}" for s in self.services()]
        return "\n".join(
            ["zatsudan local stack (project %s):" % self.project, *rows,
             f"  env        {self.env_file}", f"  logs       {self.logs_dir}/"]
        )


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # pid is the group id: each service leads its own session
    except (ProcessLookupError, PermissionError):
        pass


@contextlib.contextmanager
def _pubsub_clients(stack: Stack):
    """Publisher and subscriber clients bound to this stack's emulator.

    The clients read PUBSUB_EMULATOR_HOST when they are made; it is set only
    for that moment, so the caller's environment (a test session talking to
    another stack) is left as it was."""
    from google.cloud import pubsub_v1

    saved = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = stack.host("pubsub")
    try:
        publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    finally:
        if saved is None:
            del os.environ["PUBSUB_EMULATOR_HOST"]
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = saved
    with subscriber:
        yield publisher, subscriber


def provision(stack: Stack) -> None:
    """Topics, dead-letter topics and their keeper subscriptions, BigQuery tables."""
    from google.cloud import bigquery
    from google.auth.credentials import AnonymousCredentials
    from shared import schemas

    with _pubsub_clients(stack) as (publisher, subscriber):
        for topic in topology.TOPICS:
            queues.create_topic(publisher, subscriber, stack.project, topic)
        for pull in topology.PULL_SUBSCRIPTIONS:
            queues.create_pull_subscription(publisher, subscriber, stack.project, pull.topic, pull.name, pull.ack_deadline_s)
    client = bigquery.Client(
        project=stack.project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": stack.url("bigquery")},
    )
    dataset = client.create_dataset("zatsudan", exists_ok=True)
    for table_name, (partition, clustering) in tables.BIGQUERY_TABLES.items():
        table = bigquery.Table(dataset.table(table_name), schema=schemas.bigquery_schema(table_name))
        table.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY, field=partition)
        table.clustering_fields = clustering
        client.create_table(table, exists_ok=True)
    from shared import sql

    for view_name in tables.BIGQUERY_VIEWS:
        view = bigquery.Table(dataset.table(view_name))
        view.view_query = sql.render(view_name, f"{stack.project}.{dataset.dataset_id}")
        client.create_table(view, exists_ok=True)


def provision_push_subscriptions(stack: Stack) -> None:
    """Push subscriptions to the functions, each with a dead-letter policy.

    No retry policy locally (Terraform declares one for production): with one,
    the emulator (0.8.20) loses every message of a burst of failed pushes. Its
    backoff task then nacks one ack id twice, dies on a NullPointerException it
    does not catch, and nothing that failed on that subscription is ever
    redelivered (docs/reliability.md). Without one, it redelivers a failed push
    after about a second."""
    with _pubsub_clients(stack) as (_, subscriber):
        for sub in topology.PUSH_SUBSCRIPTIONS:
            topic_path = f"projects/{stack.project}/topics/{sub.topic}"
            subscriber.create_subscription(
                request={
                    "name": subscriber.subscription_path(stack.project, sub.name),
                    "topic": topic_path,
                    # The topic path in the URL lets functions-framework fill
                    # the CloudEvent source, as in production.
                    "push_config": {"push_endpoint": f"{stack.url(sub.function)}/{topic_path}"},
                    "ack_deadline_seconds": topology.ACK_DEADLINE_S,
                    "enable_message_ordering": sub.ordered,
                    # The push handler dead-letters at MAX_DELIVERY_ATTEMPTS itself
                    # (shared/messaging/push.py). The emulator's own dead-lettering from a push
                    # subscription kills its push loop (docs/reliability.md), so locally its
                    # policy sits above the handler's: only pushes that never reached
                    # a function (it was down) could get there.
                    "dead_letter_policy": {
                        "dead_letter_topic": f"projects/{stack.project}/topics/{topology.dead_letter_topic(sub.topic)}",
                        "max_delivery_attempts": topology.MAX_DELIVERY_ATTEMPTS * LOCAL_PUSH_ATTEMPTS_FACTOR,
                    },
                }
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.stack", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument("--run-dir", default=os.environ.get("STACK_RUN_DIR", str(REPO / ".run")))
    parser.add_argument("--port-base", type=int, default=int(os.environ.get("STACK_PORT_BASE", DEFAULT_PORT_BASE)))
    parser.add_argument("--project", default=os.environ.get("STACK_PROJECT", DEFAULT_PROJECT))
    parser.add_argument("--reply-store", default=os.environ.get("REPLY_STORE", "firestore"), choices=["firestore", "rtdb"])
    args = parser.parse_args(argv)
    from shared.config import SETTINGS

    # The settings a person may set for `make up` (local_knob in shared/config.py).
    passthrough = {row.variable: os.environ[row.variable] for row in SETTINGS if row.local_knob and row.variable in os.environ}
    stack = Stack(args.run_dir, args.port_base, args.project, args.reply_store, passthrough)
    try:
        if args.command == "up":
            was_running = stack.running()
            started = time.monotonic()
            stack.up()
            print(("already running" if was_running else f"started in {time.monotonic() - started:.1f}s"))
            print(stack.describe())
        elif args.command == "down":
            stopped = stack.down()
            print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        elif args.command == "status":
            print(("running" if stack.running() else "not running"))
            print(stack.describe())
        else:
            print("".join(f"{k}={v}\n" for k, v in stack.env().items()), end="")
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
