"""What a bench is handed of a local stack, as plain data.

Benches never import the dev stack (``infra/local/``): the bench launcher
(``infra/local/bench_stack.py``) starts or attaches a stack and passes each
bench's ``main`` a starter whose context yields a ``RunningStack``, so the
layers read top-down (dev tooling -> bench -> shared)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Protocol


@dataclass(frozen=True)
class RunningStack:
    project: str
    port_base: int
    env: dict[str, str]  # what a client needs to talk to the stack (its stack.env)
    urls: dict[str, str]  # service -> its base URL
    logs_dir: Path  # where a process the bench starts beside the stack logs
    pids: dict[str, int]  # service -> its process group's leader when the stack came up: the processes to sample
    pushed_to: dict[str, str] = field(default_factory=dict)  # topic -> service its push subscription calls

    def url(self, service: str) -> str:
        return self.urls[service]

    def host(self, service: str) -> str:
        return self.urls[service].removeprefix("http://")


class StartStack(Protocol):
    """A stack of the bench's own on ``port_base`` (``.run/<name>-<port base>``),
    its variables exported for the Google clients; stopped on the way out.
    ``options`` are the stack's (reply store, extra and per-service env, ...)."""

    def __call__(self, port_base: int, name: str = "bench", **options) -> AbstractContextManager[RunningStack]: ...


class AttachOrStartStack(Protocol):
    """The running stack ``env_file`` describes (yields None: not the bench's
    to stop, nor to sample), or else one started on ``port_base`` for the duration."""

    def __call__(self, env_file: Optional[str], port_base: int, name: str = "bench") -> AbstractContextManager[Optional[RunningStack]]: ...
