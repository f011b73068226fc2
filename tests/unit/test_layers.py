"""The layers read top-down: functions -> shared -> stores and clients; jobs
and benches use shared; the dev stack (infra/local) is dev tooling that may
import them, never the other way. Every import counts, those inside
functions too (a lazy import is still an edge)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# folder -> packages no module under it may import
FORBIDDEN = {
    "jobs": ("infra.local",),
    "bench": ("infra.local",),
    "shared": ("infra", "jobs", "bench", "functions", "tests"),
    "functions": ("infra", "jobs", "bench", "tests"),
}


def imported_modules(source: str) -> set[str]:
    """Every module an ``import`` or ``from ... import`` names, at any depth
    (``from a import b`` counts as ``a`` and ``a.b``: b may be a module)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def reaches(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_no_module_imports_a_layer_above_or_the_dev_stack(folder):
    edges = [
        f"{path.relative_to(REPO)} imports {module}"
        for path in sorted((REPO / folder).rglob("*.py"))
        for module in sorted(imported_modules(path.read_text()))
        if any(reaches(module, package) for package in FORBIDDEN[folder])
    ]
    assert edges == []


def test_the_import_scan_sees_lazy_and_from_imports():
    source = "def f():\n    from infra.local.stack import Stack\n\nfrom infra import local\nimport infra.local.topology as t\n"
    found = imported_modules(source)
    assert {"infra.local.stack", "infra.local", "infra.local.topology"} <= found
    assert all(not reaches(m, "infra.local") for m in imported_modules("from infra import deploy\nimport infrastructure"))
