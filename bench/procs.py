"""Each stack service's processes, read from /proc: memory and CPU time.

Every service leads its own process group (infra/local/stack.py), so a
service's cost is the sum over its group: the JVM under an emulator's
wrapper script, gunicorn's worker under its arbiter.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> Iterator[tuple[Path, list[str]]]:
    """(/proc/<pid>, stat fields after the command name: field 3 first) of every process."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            yield stat.parent, stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue


def _group_members(leader: int) -> Iterator[tuple[Path, list[str]]]:
    return ((folder, fields) for folder, fields in _processes() if fields[2] == str(leader))  # field 5: process group


def children(parent: int) -> list[int]:
    return [int(folder.name) for folder, fields in _processes() if fields[1] == str(parent)]  # field 4: parent


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (fields 14-15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def group_rss_kib(leader: int) -> int:
    """RSS of every process in ``leader``'s process group."""
    total = 0
    for folder, _ in _group_members(leader):
        try:
            status = (folder / "status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total


def group_cpu_s(leader: int) -> float:
    """User + system CPU seconds of every process in ``leader``'s group, and of
    its children that were waited for (fields 14-17)."""
    ticks = sum(int(f) for _, fields in _group_members(leader) for f in fields[11:15])
    return ticks / CLOCK_TICKS


def cpu_s(pids: dict[str, int]) -> dict[str, float]:
    return {name: group_cpu_s(pid) for name, pid in pids.items()}
