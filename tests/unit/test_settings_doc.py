"""docs/configuration.md's settings table is what shared/config.py says (infra/settings_doc.py)."""

from __future__ import annotations

from infra import settings_doc
from shared import config


def test_the_docs_table_is_exactly_the_rendered_one():
    text = settings_doc.CONFIGURATION_DOC.read_text()
    assert settings_doc.rendered_in(text) == settings_doc.markdown_table(), "run python -m infra.settings_doc --write"
    assert settings_doc.main(["--check"]) == 0


def test_every_variable_has_a_row():
    table = settings_doc.markdown_table()
    for name in config.variables():
        assert f"| `{name}` |" in table


def test_defaults_are_shown_as_a_person_writes_them():
    assert [settings_doc.shown_default(v) for v in (None, "", (), frozenset(), True, 60.0, 0.05, 4, "x")] == [
        "unset", "empty", "empty", "empty", "`true`", "`60`", "`0.05`", "`4`", "`x`",
    ]  # fmt: skip


def test_a_stale_table_is_reported(tmp_path, monkeypatch, capsys):
    doc = tmp_path / "configuration.md"
    doc.write_text(settings_doc.CONFIGURATION_DOC.read_text().replace("| `MAX_KEYWORDS` | `4` |", "| `MAX_KEYWORDS` | `5` |"))
    monkeypatch.setattr(settings_doc, "CONFIGURATION_DOC", doc)
    assert settings_doc.main(["--check"]) == 1
    assert settings_doc.main(["--write"]) == 0
    assert settings_doc.main(["--check"]) == 0
