"""Filtering rules: versioned files under ``jobs/corpus/rules/<version>/``.

A version folder holds ``ng_words_*.txt`` (one word a line, ``#`` comments)
and ``patterns.yaml`` (regexes, length bounds, duplicates). Both the SQL
generator (``sql.py``) and the plain-Python reference filter
(``reference.py``) read them through ``load``, so they cannot drift apart.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

RULES_ROOT = Path(__file__).parent / "rules"
DEFAULT_VERSION = "v1"

# Regex constructs whose meaning differs between RE2 (BigQuery, DuckDB) and
# Python's re, or that RE2 lacks: the generator refuses them.
_NON_PORTABLE = [
    (re.compile(r"\\[wWsSdDbB]"), r"\w \s \d \b classes (ASCII in RE2, Unicode in Python)"),
    (re.compile(r"\(\?[=!<]"), "lookaround"),
    (re.compile(r"\\[1-9]"), "backreferences"),
    (re.compile(r"\(\?P="), "backreferences"),
]
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class RulesError(ValueError):
    """A rule file that cannot be turned into a query."""


def fold(value: str) -> str:
    """What ``NORMALIZE_AND_CASEFOLD(value, NFKC)`` computes."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


@dataclass(frozen=True)
class LengthBounds:
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class Rules:
    version: str = "test"
    ng_words: tuple[str, ...] = ()  # folded, without repeats
    patterns: dict[str, str] = field(default_factory=dict)  # rule name -> regex
    lengths: dict[str, LengthBounds] = field(default_factory=dict)  # column -> bounds
    duplicates: bool = True

    def __post_init__(self) -> None:
        for word in self.ng_words:
            if not word or _CONTROL.search(word):
                raise RulesError(f"NG word {word!r} is empty or has control characters")
        for name, pattern in self.patterns.items():
            check_portable(name, pattern)
        for column in self.lengths:
            if column not in ("text", "reply_text"):
                raise RulesError(f"length bounds for unknown column {column!r}")

    def rule_names(self) -> list[str]:
        """Every outcome a row can be dropped by, in the order rules apply."""
        names = ["ng_word"] if self.ng_words else []
        names += list(self.patterns)
        if any(b.min is not None for b in self.lengths.values()):
            names.append("too_short")
        if any(b.max is not None for b in self.lengths.values()):
            names.append("too_long")
        if self.duplicates:
            names.append("duplicate")
        return names


def check_portable(name: str, pattern: str) -> None:
    if _CONTROL.search(pattern):
        raise RulesError(f"pattern {name!r} has control characters")
    for construct, why in _NON_PORTABLE:
        if construct.search(pattern):
            raise RulesError(f"pattern {name!r} uses {why}: not portable between RE2 and Python")
    try:
        re.compile(pattern)
    except re.error as error:
        raise RulesError(f"pattern {name!r} is not a valid regex: {error}") from None


def _read_words(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def load(version: str = DEFAULT_VERSION, root: Path = RULES_ROOT) -> Rules:
    folder = root / version
    if not folder.is_dir():
        raise RulesError(f"no rules version {version!r} under {root}")
    words: list[str] = []
    for path in sorted(folder.glob("ng_words_*.txt")):
        words += [fold(w) for w in _read_words(path)]
    config = yaml.safe_load((folder / "patterns.yaml").read_text(encoding="utf-8")) or {}
    lengths = {
        column: LengthBounds(min=bounds.get("min"), max=bounds.get("max"))
        for column, bounds in (config.get("length") or {}).items()
    }
    return Rules(
        version=version,
        ng_words=tuple(dict.fromkeys(words)),
        patterns={str(k): str(v) for k, v in (config.get("patterns") or {}).items()},
        lengths=lengths,
        duplicates=bool(config.get("duplicates", True)),
    )
