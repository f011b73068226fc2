"""`make up` / `make down` semantics, on a second stack with ports of its own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from infra.local.stack import SERVICES, Stack, StackError, _port_is_free, _process_start_time
from tests.conftest import TEST_PORT_BASE

REQUIRED_ENV = {
    "GOOGLE_CLOUD_PROJECT",
    "INGRESS_URL",
    "PUBSUB_EMULATOR_HOST",
    "FIRESTORE_EMULATOR_HOST",
    "BIGQUERY_EMULATOR_HOST",
    "REPLY_STORE",
}


@pytest.fixture
def bystander():
    """A process the stack did not start: `down` must leave it alone."""
    process = subprocess.Popen(["sleep", "120"])
    yield process
    process.kill()
    process.wait()


def test_up_writes_env_and_down_stops_exactly_what_up_started(tmp_path: Path, bystander):
    stack = Stack(run_dir=tmp_path / "run", port_base=TEST_PORT_BASE + 50)
    env = stack.up()
    try:
        written = dict(line.split("=", 1) for line in stack.env_file.read_text().splitlines())
        assert REQUIRED_ENV <= set(written) and written == env
        assert written["REPLY_STORE"] == "firestore"
        recorded = stack._recorded()
        assert {e["name"] for e in recorded} == {s.name for s in stack.services()}
        assert "FIREBASE_DATABASE_EMULATOR_HOST" not in written  # a Firestore stack runs no RTDB server
        assert {s.name for s in stack.services()} == {s.name for s in SERVICES} - {"rtdb"}
        assert stack.running()

        # A second `up` over the same ports refuses and leaves the first alone.
        with pytest.raises(StackError, match="busy"):
            Stack(run_dir=tmp_path / "other", port_base=TEST_PORT_BASE + 50).up()
        assert stack.running()
    finally:
        stopped = stack.down()

    assert sorted(stopped) == sorted(s.name for s in stack.services())
    assert all(_process_start_time(e["pid"]) != e["start_time"] for e in recorded)
    assert all(_port_is_free(stack.port(s.name)) for s in stack.services())
    assert not stack.env_file.exists()
    assert bystander.poll() is None
    # No process of this stack is left, children (the emulators' JVMs) included.
    leftovers = subprocess.run(["pgrep", "-f", str(TEST_PORT_BASE + 50)], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", leftovers


def test_down_with_nothing_recorded_stops_nothing(tmp_path: Path, bystander):
    assert Stack(run_dir=tmp_path, port_base=TEST_PORT_BASE + 60).down() == []
    assert bystander.poll() is None


def test_the_stacks_functions_run_from_their_deploy_bundles(stack):
    """Every end-to-end test talks to the bundles make deploy would upload
    (infra/local/stack.py BUNDLE_DIFFERENCES says what still differs)."""
    for service in (s for s in SERVICES if s.kind == "function"):
        pid = stack.pids()[service.name]
        bundle = stack.bundle(service.name)
        assert os.readlink(f"/proc/{pid}/cwd") == str(bundle)
        environ = dict(
            item.split("=", 1) for item in open(f"/proc/{pid}/environ").read().split("\0") if "=" in item
        )
        assert environ["PYTHONPATH"] == str(bundle)
        assert (bundle / "shared").is_dir() and (bundle / "requirements.txt").is_file()
