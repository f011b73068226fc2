"""The bench launcher (infra/local/bench_stack.py) and the benches agree on
what each bench is handed, and a stack is handed over as plain data."""

from __future__ import annotations

import importlib
import inspect
import sys

import pytest

from infra.local import bench_stack
from shared.messaging import topology
from infra.local.stack import Stack
from tests.conftest import REPO


@pytest.mark.parametrize("name", sorted(bench_stack.BENCHES))
def test_every_bench_main_takes_what_the_launcher_hands_it(name, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    main = importlib.import_module(name).main
    parameters = list(inspect.signature(main).parameters)
    assert parameters == ["argv", *bench_stack.BENCHES[name]]


def test_a_stack_is_handed_over_as_its_addresses_env_and_processes(tmp_path):
    stack = Stack(run_dir=tmp_path / "run", port_base=9990, reply_store="rtdb")
    handed = bench_stack.running(stack)
    assert handed.env == stack.env() and handed.project == stack.project and handed.port_base == 9990
    assert handed.url("bigquery") == stack.url("bigquery") and handed.host("rtdb") == stack.host("rtdb")
    assert set(handed.urls) == {service.name for service in stack.services()}
    assert handed.pids == {}  # nothing started
    assert handed.pushed_to == {sub.topic: sub.function for sub in topology.PUSH_SUBSCRIPTIONS}
    assert handed.logs_dir == stack.logs_dir


def test_an_unknown_bench_is_refused_with_the_list_of_benches(capsys):
    assert bench_stack.main(["no_such_bench"]) == 2
    assert "e2e_latency" in capsys.readouterr().err
    assert "no_such_bench" not in sys.modules
