"""docs/configuration.md's settings table, rendered from shared/config.py's SETTINGS.

    python -m infra.settings_doc            print the table
    python -m infra.settings_doc --write    rewrite it in docs/configuration.md
    python -m infra.settings_doc --check    exit 1 if the doc's table differs

The table lives between two marker lines, so the prose around it is edited by
hand and the table never is (tests/unit/test_settings_doc.py holds them equal).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from shared import config

REPO = Path(__file__).resolve().parents[1]
CONFIGURATION_DOC = REPO / "docs" / "configuration.md"
BEGIN = "<!-- settings table: rendered by `python -m infra.settings_doc --write` from shared/config.py; do not edit -->"
END = "<!-- end of settings table -->"
HEADER = "| variable | default | type | read by | production | meaning |\n|---|---|---|---|---|---|"


def shown_default(value: Any) -> str:
    if value is None:
        return "unset"
    if value in ("", (), frozenset()):
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def shown_readers(readers: tuple[str, ...]) -> str:
    return ", ".join(f"{reader.removeprefix('job:')} job" if reader.startswith("job:") else reader for reader in readers)


def shown_production(production: str) -> str:
    if production == config.TERRAFORM:
        return "Terraform (`function_env`)"
    if production == config.SECRET:
        return "Secret Manager (`function_secrets`)"
    return "never: " + production.removeprefix("local:").strip()


def rows() -> list[str]:
    lines = []
    for row in config.SETTINGS:
        for variable in row.variables:
            alias = variable != row.variable
            meaning = f"older name of `{row.variable}`, read when it is unset or empty" if alias else row.meaning
            cells = [
                f"`{variable}`",
                "unset" if alias else shown_default(row.default),
                row.kind.name,
                shown_readers(row.readers),
                shown_production(row.production_of(variable)),
                meaning,
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown_table() -> str:
    """The table, between its markers."""
    return "\n".join([BEGIN, HEADER, *rows(), END])


def rendered_in(text: str) -> str | None:
    """The table part of a doc's text, markers included (None if unmarked)."""
    start, end = text.find(BEGIN), text.find(END)
    return text[start : end + len(END)] if 0 <= start < end else None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    table = markdown_table()
    if not args:
        print(table)
        return 0
    text = CONFIGURATION_DOC.read_text()
    current = rendered_in(text)
    if current is None:
        print(f"{CONFIGURATION_DOC}: no settings table markers", file=sys.stderr)
        return 1
    if args == ["--check"]:
        if current != table:
            print(f"{CONFIGURATION_DOC}: the settings table is stale; run python -m infra.settings_doc --write")
            return 1
        return 0
    if args == ["--write"]:
        CONFIGURATION_DOC.write_text(text.replace(current, table))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
