"""bench/log_sink.py runs against a stack and reports every path (a smoke test: no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO


def test_the_log_sink_bench_reports_rows_per_second_for_every_path(stack):
    result = subprocess.run(
        [sys.executable, "-m", "infra.local.bench_stack", "log_sink", "--env", str(stack.env_file), "--count", "5", "--json"],
        capture_output=True, text=True, timeout=180, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    numbers = json.loads(result.stdout.splitlines()[-1])
    assert numbers["count"] == 5
    for key in ("sink_rows_per_s", "direct_one_row_per_call_rows_per_s", "direct_one_call_rows_per_s"):
        assert numbers[key] > 0
