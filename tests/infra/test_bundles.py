"""Each function bundle (.build/<function>/) installs into a fresh virtual
environment from its own trimmed requirements.txt, builds its service there,
and answers HTTP under ``functions-framework --target=...`` from the bundle
directory: nothing from the repository's .venv or source tree leaks in.

No emulator is needed: the clients are pointed at emulator addresses where
nothing listens (so they are created without credentials and never used).
ingress answers GET /healthz (which builds it); scorer and log_sink are
CloudEvent functions, and functions-framework answers a body that is not a
Pub/Sub push with 400 before any handler runs, which proves the module loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from infra import deploy

pytestmark = pytest.mark.slow

# function -> (port, request, expected status)
PROBES = {
    "ingress": (8981, ("GET", "/healthz", None), 200),
    "scorer": (8982, ("POST", "/", {"not": "a push"}), 400),
    "log-sink": (8983, ("POST", "/", {"not": "a push"}), 400),
}
BUILDERS = {"ingress": "build_ingress", "scorer": "build_scorer", "log-sink": "build_log_sink"}
# Emulator addresses nobody listens on: the clients need no credentials.
NOWHERE = {
    "GOOGLE_CLOUD_PROJECT": "bundle-test",
    "PUBSUB_EMULATOR_HOST": "127.0.0.1:8984",
    "FIRESTORE_EMULATOR_HOST": "127.0.0.1:8985",
    "BIGQUERY_EMULATOR_HOST": "127.0.0.1:8986",
}


def isolated_env(venv: Path) -> dict[str, str]:
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "PYTHONNOUSERSITE": "1", **NOWHERE}
    # pip's settings and cache (HOME), nothing else from outside.
    env["HOME"] = os.environ.get("HOME", str(venv))
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    return env


def install(function: deploy.Function, root: Path) -> tuple[Path, Path]:
    bundle = deploy.build_bundle(function, root / "build")
    venv = root / f"venv-{function.name}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [f"{venv}/bin/pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check", "-r", "requirements.txt"],
        cwd=bundle, env=isolated_env(venv), check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return bundle, venv


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundles")
    # One at a time: parallel pips fight over two cores and the network (slower).
    return {function.name: install(function, root) for function in deploy.FUNCTIONS}


def function(name: str) -> deploy.Function:
    return next(f for f in deploy.FUNCTIONS if f.name == name)


@pytest.mark.parametrize("name", sorted(PROBES))
def test_bundle_builds_its_service_in_a_fresh_venv(installed, name):
    """Every client library and data file the service needs (the Japanese
    dictionary for the scorer) comes from the bundle's own requirements."""
    bundle, venv = installed[name]
    script = (
        "import sys, main; from shared import app, config; from shared.clients import Clients\n"
        "assert all('/.venv' not in p for p in sys.path), sys.path\n"
        f"settings = config.load(); app.{BUILDERS[name]}(settings, Clients(settings)); print('built')"
    )
    done = subprocess.run(
        [f"{venv}/bin/python", "-c", script], cwd=bundle, env=isolated_env(venv), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "built" in done.stdout, done.stderr


@pytest.mark.parametrize("name", sorted(PROBES))
def test_functions_framework_serves_the_bundle(installed, name):
    bundle, venv = installed[name]
    port, (method, path, body), status = PROBES[name]
    server = subprocess.Popen(
        [f"{venv}/bin/functions-framework", f"--target={function(name).entry_point}", "--source=main.py", f"--port={port}", "--host=127.0.0.1"],
        cwd=bundle, env=isolated_env(venv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        answer = None
        deadline = time.monotonic() + 60
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            try:
                answer = requests.request(method, f"http://127.0.0.1:{port}{path}", json=body, timeout=10)
            except requests.ConnectionError:
                time.sleep(0.3)
        assert answer is not None, f"functions-framework did not answer:\n{server.stdout.read() if server.poll() is not None else ''}"
        assert answer.status_code == status, answer.text
    finally:
        server.terminate()
        server.wait(timeout=10)
