"""`make` on a bad state says what to do in one line, never a traceback.

Each case runs the real target (`make -s ...`) in the state a newcomer meets:
no model published (`make eval`), no stack running (`make chat`, `make
report`), a busy port (`make up`), a venv missing packages. The states are
made in temporary folders (RUN_DIR, MODEL_STORE, VENV), so a developer's own
`.run` or `.venv` is never touched. No emulator is started.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def make(*args: str, **env: str) -> tuple[int, list[str]]:
    """Exit status and the lines the target itself printed (make's own
    ``make: *** [...] Error 1`` trailer left out)."""
    # Run as a person would, not as a sub-make of `make test` (whose
    # MAKELEVEL would turn the trailer into `make[1]: ***`).
    outer = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", *args],
        cwd=REPO, env={**outer, **env}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip() and not line.startswith("make: ***")]
    return done.returncode, lines


def assert_one_line(status: int, lines: list[str], *words: str) -> None:
    assert status != 0
    assert not any("Traceback" in line for line in lines), "\n".join(lines)
    assert len(lines) == 1, "\n".join(lines)
    for word in words:
        assert word in lines[0]


def test_make_eval_without_a_published_model_says_to_train(tmp_path):
    status, lines = make("eval", MODEL_STORE=str(tmp_path / "models"))
    assert_one_line(status, lines, "no published model", "make train")


@pytest.mark.parametrize("target", ["chat", "report"])
def test_make_chat_and_report_without_a_stack_say_to_start_one(tmp_path, target):
    status, lines = make(target, f"RUN_DIR={tmp_path / 'run'}")
    assert_one_line(status, lines, "not running", "make up")


def test_a_stack_whose_processes_died_is_not_running_either(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "stack.env").write_text("INGRESS_URL=http://127.0.0.1:1\n")
    (run / "pids.json").write_text('[{"name": "pubsub", "pid": 999999999, "start_time": "1"}]')
    status, lines = make("chat", f"RUN_DIR={run}")
    assert_one_line(status, lines, "has stopped", "make up")


def test_make_up_on_a_busy_port_refuses_in_one_line(tmp_path):
    if not (REPO / "web" / "dist" / "app.js").exists():
        pytest.skip("the web bundle is not built (make web); make up would build it first")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status, lines = make("up", f"RUN_DIR={tmp_path / 'run'}", STACK_PORT_BASE=str(port - 4))  # ingress's port
    assert_one_line(status, lines, "port(s) busy", "STACK_PORT_BASE")


def test_a_venv_missing_packages_says_how_to_rebuild_it(tmp_path):
    """A venv made by hand (or broken by a removed package) whose stamp says ready."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    for stamp in (".ready", ".data-ready"):
        (venv / stamp).touch()  # newer than requirements*.txt: make will not reinstall
    built = (REPO / "web" / "dist" / "app.js").exists()  # else make up builds it first, and says so
    for target in ("chat", "eval", "report") + (("up",) if built else ()):
        status, lines = make(target, f"VENV={venv}", f"RUN_DIR={tmp_path / 'run'}", MODEL_STORE=str(tmp_path / "models"))
        assert_one_line(status, lines, "lacks", "make deps")
