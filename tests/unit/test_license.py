"""The project's LICENSE names the licence of every corpus vendored under
data/, and each such corpus carries its own licence file beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPORA = sorted(path for path in (REPO / "data").iterdir() if path.is_dir())


def test_there_is_a_vendored_corpus():
    assert CORPORA


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda path: path.name)
def test_the_license_names_each_vendored_corpus_and_its_licence_file(corpus):
    named = (REPO / "LICENSE").read_text()
    assert f"data/{corpus.name}/" in named
    assert (corpus / "LICENSE").is_file() and f"data/{corpus.name}/LICENSE" in named
