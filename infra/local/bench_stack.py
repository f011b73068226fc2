"""Runs a bench on a local stack: the dev tooling side of the benches.

    python -m infra.local.bench_stack e2e_latency --count 30 --rate 5   # make bench
    python -m infra.local.bench_stack load --rates 5,10                 # make bench-load
    python -m infra.local.bench_stack cost --count 100                  # make bench-cost
    python -m infra.local.bench_stack log_sink [--env .run/stack.env]   # make bench-log-sink
    python -m infra.local.bench_stack corpus [--env .run/stack.env]     # make bench-corpus

Benches (``bench/``) never import the dev stack: this module starts (or
attaches) the stack a bench needs and hands the bench's ``main`` what it asks
for, the stack as plain data (``bench/running_stack.py`` ``RunningStack``:
endpoints, env, processes to sample) and, for the cost bench, the metering
proxies' class. The rest of each command line is the bench's own.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from pathlib import Path
from typing import Iterator

from bench.running_stack import RunningStack
from shared.messaging import topology
from infra.local.grpc_meter import MeteringProxy
from infra.local.stack import REPO, Stack
from shared.env_file import load_env_file


def running(stack: Stack) -> RunningStack:
    """What a bench needs of ``stack``, once it is up."""
    return RunningStack(
        project=stack.project,
        port_base=stack.port_base,
        env=stack.env(),
        urls={service.name: stack.url(service.name) for service in stack.services()},
        logs_dir=stack.logs_dir,
        pids=stack.pids(),
        pushed_to={sub.topic: sub.function for sub in topology.PUSH_SUBSCRIPTIONS},
    )


@contextlib.contextmanager
def started_stack(port_base: int, name: str = "bench", **options) -> Iterator[RunningStack]:
    """A stack of its own on ``port_base`` (run dir ``.run/<name>-<port base>``),
    its variables exported for the Google clients; stopped on the way out."""
    stack = Stack(run_dir=REPO / ".run" / f"{name}-{port_base}", port_base=port_base, **options)
    stack.down()  # leftovers of an earlier run that was killed: start clean
    os.environ.update(stack.up())
    try:
        yield running(stack)
    finally:
        stack.down()


@contextlib.contextmanager
def attached_or_started_stack(env_file: Path | str | None, port_base: int, name: str = "bench") -> Iterator[RunningStack | None]:
    """The running stack ``env_file`` describes (yields None: not ours to
    stop), or else one started on ``port_base`` for the duration."""
    if env_file:
        load_env_file(env_file)
        yield None
        return
    with started_stack(port_base, name) as stack:
        yield stack


# bench module -> what its main(argv, ...) is handed, by keyword.
BENCHES = {
    "e2e_latency": {"start_stack": started_stack},
    "load": {"start_stack": started_stack},
    "cost": {"start_stack": started_stack, "metering_proxy": MeteringProxy},
    "log_sink": {"stack_for": attached_or_started_stack},
    "corpus": {"stack_for": attached_or_started_stack},
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in BENCHES:
        print(f"usage: python -m infra.local.bench_stack {{{','.join(BENCHES)}}} [the bench's arguments]", file=sys.stderr)
        return 2
    name, *bench_argv = argv
    # The benches import their neighbours by file name (bench/ on the path), as when run as scripts.
    sys.path.insert(0, str(REPO / "bench"))
    bench = importlib.import_module(name)
    return bench.main(bench_argv, **BENCHES[name])


if __name__ == "__main__":
    sys.exit(main())
