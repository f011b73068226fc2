"""BigQuery SQL, plain BigQuery dialect, one statement per file.

The same text runs on BigQuery and on local-bigquery (checked by the tests).
``{dataset}`` is the fully qualified dataset (``project.dataset``);
``{rewards}`` is ``rewards.sql``, inlined as a common table expression.
"""

from __future__ import annotations

from importlib import resources


def text(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.sql").read_text()


def render(name: str, dataset: str) -> str:
    """The statement ``name`` for the fully qualified ``dataset``."""
    rewards = "\n".join("  " + line for line in text("rewards").splitlines() if not line.startswith("--"))
    # Plain replacement, not str.format: SQL has braces of its own.
    return text(name).replace("{rewards}", rewards).replace("{dataset}", dataset)
