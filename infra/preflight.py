"""What a `make` target needs before it starts, each said in one line.

    python -m infra.preflight CHECK [CHECK...]     (exit 1 at the first that fails)

Checks:
- ``venv``: every package pinned in requirements.txt is installed in the
  running interpreter's environment (``venv-data``: requirements-data.txt too);
- ``stack``: the local stack of ``--run-dir`` (``make up``'s) is running;
- ``model``: a dual-encoder version is published in ``MODEL_STORE`` (its LATEST).

The Makefile runs it before targets that would otherwise end in a traceback
(a ModuleNotFoundError, a missing stack.env, a missing LATEST). The ``venv``
check imports nothing outside the standard library, so it works in the very
environment it finds incomplete.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class NotReady(Exception):
    """The one line to print: what is wrong and what to run."""


def _pins(requirements: Path) -> list[tuple[str, str]]:
    pins = []
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^;\s]+)", line)
        if match:
            pins.append((match.group(1), match.group(2)))
    return pins


def _shown(path: Path | str) -> str:
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path)


def check_venv(*requirements: Path) -> None:
    missing = []
    for requirement in requirements:
        for name, version in _pins(requirement):
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                missing.append(f"{name}=={version}")
                continue
            if installed != version:
                missing.append(f"{name}=={version} (has {installed})")
    if missing:
        venv = _shown(sys.prefix)
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise NotReady(
            f"{venv} lacks {missing[0]}{more} from {', '.join(r.name for r in requirements)}: "
            f"run `rm -f {venv}/.ready {venv}/.data-ready && make deps`"
        )


def check_stack(run_dir: Path) -> None:
    from infra.local.stack import Stack

    env_file = run_dir / "stack.env"
    if not env_file.is_file() or not Stack(run_dir=run_dir).running():
        state = "has stopped (some of its processes are gone)" if env_file.is_file() else "is not running"
        raise NotReady(f"the local stack ({_shown(run_dir)}) {state}: start it with `make up` (or `make run`), then try again")


def check_model() -> None:
    from shared import config
    from shared.model_store import open_store

    where = config.load().model_store
    try:
        published = open_store(where).exists("LATEST")
    except Exception as error:  # an unreachable gs:// store, bad credentials
        raise NotReady(f"cannot read the model store {where}: {type(error).__name__}: {error}") from None
    if not published:
        raise NotReady(f"no published model in {where} (no LATEST): run `make train` first, which trains and publishes one")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checks", nargs="+", choices=["venv", "venv-data", "stack", "model"])
    parser.add_argument("--run-dir", type=Path, default=Path(os.environ.get("STACK_RUN_DIR", REPO / ".run")))
    args = parser.parse_args(argv)
    try:
        for check in args.checks:
            if check == "venv":
                check_venv(REPO / "requirements.txt")
            elif check == "venv-data":
                check_venv(REPO / "requirements.txt", REPO / "requirements-data.txt")
            elif check == "stack":
                check_stack(args.run_dir)
            else:
                check_model()
    except NotReady as problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
