"""``KEY=value`` files (a local stack's ``stack.env``) into the environment.

Here, not in the dev stack, because jobs and benches read such a file too and
never import ``infra/local`` (the batch image ships ``shared/`` and ``jobs/``
only)."""

from __future__ import annotations

import os
from pathlib import Path


def load_env_file(path: Path | str) -> dict[str, str]:
    """Read ``KEY=value`` lines (as written to stack.env) into ``os.environ``."""
    values = {}
    for line in Path(path).read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.lstrip().startswith("#"):
            values[key.strip()] = value.strip()
    os.environ.update(values)
    return values
