"""Every file path and test the repository's own text names exists: a
README, docstring or comment naming a test file that was renamed, or a
handbook folder that lives outside the repository (issue 12 found four),
sends a reader nowhere."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".git", ".venv", ".venv-bigquery", ".run", ".build", "node_modules", "dist", "__pycache__", ".pytest_cache", ".hypothesis", ".terraform"}
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".tf", ".txt", ".sql", ".rules", ".html", ".js", ""}
# A path under one of the repository's own top folders.
PATH = re.compile(r"(?<![\w./-])(?:shared|infra|tests|jobs|functions|bench|web|docs|\.ci)/[A-Za-z0-9_./-]*[A-Za-z0-9_]")
TEST = re.compile(r"(tests/[A-Za-z0-9_/]+\.py)::(\w+)")


def text_files():
    for path in REPO.rglob("*"):
        relative = path.relative_to(REPO)
        if any(part in SKIPPED_DIRS for part in relative.parts) or not path.is_file():
            continue
        if path.suffix in TEXT_SUFFIXES and path.name != "package-lock.json":
            yield path


def test_every_path_the_repository_names_exists():
    missing = []
    for path in text_files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for match in PATH.finditer(line):
                name = match.group(0)
                if any(mark in line[match.start() : match.end() + 1] for mark in "*{<"):
                    continue  # a pattern or a placeholder, not a file
                if not ((REPO / name).exists() or (REPO / f"{name}.py").exists()):
                    missing.append(f"{path.relative_to(REPO)}:{number}: {name}")
    assert missing == []


def test_every_test_the_repository_names_exists():
    missing = []
    for path in text_files():
        for match in TEST.finditer(path.read_text(errors="replace")):
            file, name = match.groups()
            source = REPO / file
            if not source.exists() or not re.search(rf"^\s*(?:def|class) {name}\b", source.read_text(), re.M):
                missing.append(f"{path.relative_to(REPO)}: {file}::{name}")
    assert missing == []
