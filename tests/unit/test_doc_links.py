"""The README is the front door and docs/ holds the rest (issue 16): every
relative link in them reaches a file (and a heading, when it names one), the
README stays short, and every doc is reachable from the README."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = REPO / "docs"
README_MAX_LINES = 200
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:
FENCE = re.compile(r"^\s*```")


def documents() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """Numbered lines outside code fences (a `# comment` in a shell block is no heading)."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


def anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {anchor(line.lstrip("#")) for _, line in prose_lines(path) if re.match(r"#{1,6} ", line)}


def links(path: Path):
    """Numbered relative link targets; a link's text may wrap onto the next line."""
    prose = dict(prose_lines(path))
    text = "\n".join(prose.get(number, "") for number in range(1, max(prose, default=0) + 1))
    for match in LINK.finditer(text):
        target = match.group(1)
        if not EXTERNAL.match(target):
            yield text.count("\n", 0, match.start()) + 1, target


def test_anchors_follow_githubs_rule():
    assert anchor("Replies: Realtime Database or Firestore") == "replies-realtime-database-or-firestore"
    assert anchor("Exactly one row: how it holds") == "exactly-one-row-how-it-holds"
    assert anchor("Cost per utterance: round trips and CPU (issue 15)") == "cost-per-utterance-round-trips-and-cpu-issue-15"


def test_every_relative_link_reaches_a_file_and_heading():
    broken = []
    for path in documents():
        for number, target in links(path):
            file, _, fragment = target.partition("#")
            destination = (path.parent / file).resolve() if file else path
            where = f"{path.relative_to(REPO)}:{number}: {target}"
            if not destination.exists():
                broken.append(f"{where} (no such file)")
            elif fragment and destination.suffix == ".md" and fragment not in anchors(destination):
                broken.append(f"{where} (no such heading)")
    assert broken == []


def test_the_readme_reads_in_five_minutes():
    assert len(README.read_text().splitlines()) < README_MAX_LINES


def test_every_doc_is_reachable_from_the_readme():
    """README -> docs/README.md -> each doc (the decisions through their own index)."""
    reached, queue = set(), [README]
    while queue:
        path = queue.pop()
        if path in reached or path.suffix != ".md" or not path.exists():
            continue
        reached.add(path)
        for _, target in links(path):
            file = target.partition("#")[0]
            if file:
                destination = (path.parent / file).resolve()
                queue.append(destination / "README.md" if destination.is_dir() else destination)
    unreached = [str(path.relative_to(REPO)) for path in DOCS.rglob("*.md") if path.resolve() not in reached]
    assert unreached == []
