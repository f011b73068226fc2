"""The Node and npm versions `make test` needs are the ones the README states
and `.ci/run` checks: web/package.json's engines, and every package pinned in
web/package-lock.json installs on that Node (issue 12: firebase 13 pulled
@firebase/storage, which declares Node >= 24.12, under a README saying Node 20)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
# Every npm package make installs: the web page's, and the Auth emulator's (firebase-tools).
PACKAGES = [WEB, REPO / "infra" / "local" / "auth_emulator"]


def _version(text: str) -> tuple[int, int, int]:
    parts = [int(p) if p.isdigit() else 0 for p in text.strip().lstrip("v=").split(".")[:3]]
    return tuple(parts + [0] * (3 - len(parts)))  # type: ignore[return-value]


def satisfies(version: tuple[int, int, int], spec: str) -> bool:
    """The npm range forms that appear in engines fields: ``a || b``, each a
    space-separated conjunction of ``>=x``, ``>x``, ``<x``, ``<=x``, ``^x``,
    ``~x``, ``x.*`` / ``x.x``, ``*`` or an exact version."""

    def one(comparator: str) -> bool:
        op, rest = re.match(r"(>=|<=|>|<|\^|~|=)?\s*(.*)", comparator).groups()
        if rest in ("*", "x", ""):
            return True
        if op is None and (re.search(r"\.(\*|x)", rest + ".") or rest.count(".") < 2):  # 20, 20.x, 20.5: a prefix
            fixed = [int(p) for p in rest.split(".") if p.isdigit()]
            return list(version[: len(fixed)]) == fixed
        bound = _version(rest)
        if op == "^":
            return version >= bound and version[0] == bound[0]
        if op == "~":
            return version >= bound and version[:2] == bound[:2]
        return {">=": version >= bound, ">": version > bound, "<": version < bound, "<=": version <= bound}.get(
            op or "=", version == bound
        )

    return any(
        all(one(c) for c in re.findall(r"(?:>=|<=|>|<|\^|~|=)?\s*[\w.*]+", alternative.strip()))
        for alternative in spec.split("||")
    )


@pytest.mark.parametrize(
    "version, spec, expected",
    [
        ("20.0.0", ">=20", True),
        ("20.20.2", ">=24.12.0", False),
        ("20.0.0", "^8.13.0 || >=10.10.0", True),
        ("20.0.0", "6.* || 8.* || >= 10.*", True),
        ("9.1.0", "6.* || 8.* || >= 10.*", False),
        ("20.1.0", ">=18 <21", True),
        ("20.5.0", "20 || 22 || 24", True),
        ("21.0.0", "20 || 22 || 24", False),
        ("20.4.0", "^18.17.0 || >=20.5.0", False),
    ],
)
def test_range_reading(version, spec, expected):
    assert satisfies(_version(version), spec) is expected


def required() -> dict[str, int]:
    engines = json.loads((WEB / "package.json").read_text())["engines"]
    return {tool: int(re.fullmatch(r">=(\d+)", engines[tool]).group(1)) for tool in ("node", "npm")}


def test_the_readme_states_the_engines_of_web_package_json():
    need = required()
    readme = (REPO / "README.md").read_text()
    assert f"Node {need['node']} or later with npm {need['npm']} or later" in " ".join(readme.split())


def test_ci_checks_the_engines_of_web_package_json():
    run = (REPO / ".ci" / "run").read_text()
    assert "web/package.json" in run and "process.versions.node" in run and "npm --version" in run


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_npm_refuses_packages_the_stated_node_cannot_run(package):
    assert "engine-strict=true" in (package / ".npmrc").read_text().splitlines()


def stated_nodes(package: Path) -> list[tuple[int, int, int]]:
    """The lowest Node of each range a package.json's engines allow (``>=x``, ``^x.y``, joined by ``||``)."""
    spec = json.loads((package / "package.json").read_text())["engines"]["node"]
    return [_version(re.fullmatch(r"\s*(?:>=|\^)([\d.]+)\s*", alternative).group(1)) for alternative in spec.split("||")]


def test_the_readme_and_ci_state_the_auth_emulators_node():
    """firebase-tools pulls mute-stream (Node >= 20.5) and superstatic (Node 20,
    22 or 24 only): its package.json says so, the README too, and .ci/run checks it."""
    spec = json.loads((PACKAGES[1] / "package.json").read_text())["engines"]["node"]
    assert f"Node `{spec}` for the Auth emulator" in " ".join((REPO / "README.md").read_text().split())
    assert "infra/local/auth_emulator/package.json" in (REPO / ".ci" / "run").read_text()


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_every_locked_package_runs_on_the_stated_node(package):
    """On the lowest Node of each range the package states."""
    lock = json.loads((package / "package-lock.json").read_text())
    too_new = {
        (".".join(map(str, node)), name): locked["engines"]["node"]
        for node in stated_nodes(package)
        for name, locked in lock["packages"].items()
        if isinstance(locked.get("engines"), dict)
        and "node" in locked["engines"]
        and not locked.get("optional")
        and not satisfies(node, locked["engines"]["node"])
    }
    assert too_new == {}, f"these need another Node than the package states: {too_new}"
