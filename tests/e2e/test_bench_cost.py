"""bench/cost.py on stacks of its own: its counts agree with the emulators' own
counts, and one utterance is what the code says it is (no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO, TEST_PORT_BASE

COST_PORT_BASE = TEST_PORT_BASE + 120  # its own stacks: +120..+147


def test_the_cost_bench_counts_agree_with_the_emulators_for_both_reply_stores():
    result = subprocess.run(
        [sys.executable, "-m", "infra.local.bench_stack", "cost", "--count", "6", "--check-count", "6", "--rate", "3",
         "--stores", "firestore,rtdb", "--port-base", str(COST_PORT_BASE), "--json"],
        capture_output=True, text=True, timeout=600, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert [r["store"] for r in report["results"]] == ["firestore", "rtdb"]
    for store in report["results"]:
        for name, (metered, independent) in store["check"].items():
            assert metered == independent, (store["store"], name)
        per = store["per_utterance"]
        assert store["check"]["bigquery rows"][0] == store["check_count"]  # one selection row per utterance
        assert per["pubsub"]["ingress"]["messages"] == 1 and per["pubsub"]["scorer"]["messages"] == 1
        assert per["firestore"]["scorer"]["writes"] > 0
        assert set(per["cpu_ms"]) >= {"ingress", "scorer", "log_sink", "pubsub", "firestore", "bigquery"}
        assert store["dollars_per_million"]["total, busy instances"] > 0
    firestore_run, rtdb_run = report["results"]
    assert firestore_run["per_utterance"]["firestore"]["client"]["reads"] == 1  # the chat client's listener
    assert rtdb_run["usage"]["rtdb_stored_bytes"] > 0
    assert report["alternatives"]
