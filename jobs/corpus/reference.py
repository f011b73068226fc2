"""The filter in plain Python: what the generated SQL must compute.

Used by the integration test (SQL result on the local BigQuery == this on the
same rows) and by the benchmark (SQL time against this time).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Mapping

from jobs.corpus.rules import Rules, fold


def outcomes(rules: Rules, rows: Iterable[Mapping]) -> dict[str, str]:
    """Row key -> outcome (``kept`` or the first rule that drops the row).

    Rows are identified by (post_id, keyword); the result is keyed by
    ``post_id + "\\x1f" + keyword``."""
    patterns = {name: re.compile(p) for name, p in rules.patterns.items()}
    judged: list[tuple[Mapping, str, str, str | None]] = []
    for row in rows:
        folded = {"text": fold(row["text"]), "reply_text": fold(row["reply_text"])}
        judged.append((row, folded["text"], folded["reply_text"], _dropped_by(rules, patterns, folded)))
    result: dict[str, str] = {}
    seen: set[tuple[str, str, str]] = set()
    for row, text_nf, reply_nf, dropped_by in sorted(judged, key=lambda j: j[0]["post_id"]):
        key = row_key(row)
        if dropped_by is not None:
            result[key] = dropped_by
            continue
        copy_key = (row["keyword"], text_nf, reply_nf)
        if rules.duplicates and copy_key in seen:
            result[key] = "duplicate"
        else:
            seen.add(copy_key)
            result[key] = "kept"
    return result


def _dropped_by(rules: Rules, patterns: Mapping[str, re.Pattern], folded: Mapping[str, str]) -> str | None:
    values = folded.values()
    if any(word in value for word in rules.ng_words for value in values):
        return "ng_word"
    for name, pattern in patterns.items():
        if any(pattern.search(value) for value in values):
            return name
    if any(b.min is not None and len(folded[c]) < b.min for c, b in rules.lengths.items()):
        return "too_short"
    if any(b.max is not None and len(folded[c]) > b.max for c, b in rules.lengths.items()):
        return "too_long"
    return None


def row_key(row: Mapping) -> str:
    return f"{row['post_id']}\x1f{row['keyword']}"


def clean(rules: Rules, rows: list[Mapping]) -> list[Mapping]:
    """The rows the filter keeps."""
    verdicts = outcomes(rules, rows)
    return [row for row in rows if verdicts[row_key(row)] == "kept"]


def counts(rules: Rules, rows: list[Mapping]) -> Counter[str]:
    return Counter(outcomes(rules, rows).values())
