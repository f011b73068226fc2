"""Seed the demo corpus: conversation pairs from chatterbot-corpus into Firestore.

    python -m jobs.seed --env .run/stack.env

chatterbot-corpus ships Japanese and English conversations by topic (BSD-3).
Each consecutive pair of turns (a, b) becomes a candidate reply ``b`` to the
context ``a``, stored under every topic keyword of ``a`` (the same keyword
code the scorer uses), so the chat answers in both languages before the
corpus pipeline exists.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Iterator

import yaml

from jobs import ENV_HELP, connect
from shared import text
from shared.ranking import Candidate

LANGUAGE_FOLDERS = {"ja": "japanese", "en": "english"}
# Firestore documents hold at most 1 MiB; keywords this common carry no topic anyway.
MAX_CANDIDATES_PER_KEYWORD = 300
BATCH_SIZE = 400


def corpus_root() -> Path:
    import chatterbot_corpus

    return Path(chatterbot_corpus.__file__).parent / "data"


def conversation_pairs(lang: str) -> Iterator[tuple[str, str, str]]:
    """(context, reply, source) for each consecutive pair of turns."""
    for path in sorted((corpus_root() / LANGUAGE_FOLDERS[lang]).glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for conversation in document.get("conversations", []):
            turns = [text.normalize(str(t)) for t in conversation if t is not None and str(t).strip()]
            for context, reply in zip(turns, turns[1:]):
                yield context, reply, f"chatterbot-corpus/{LANGUAGE_FOLDERS[lang]}/{path.stem}"


def build_candidates(lang: str) -> dict[str, list[Candidate]]:
    """keyword -> candidates, without repeated replies."""
    by_keyword: dict[str, dict[str, Candidate]] = defaultdict(dict)
    for context, reply, source in conversation_pairs(lang):
        for keyword in text.keywords(context, lang):
            by_keyword[keyword].setdefault(reply, Candidate(text=reply, context=context, source=source))
    return {k: list(v.values())[:MAX_CANDIDATES_PER_KEYWORD] for k, v in by_keyword.items()}


def seed(db, langs=("ja", "en")) -> dict[str, int]:
    from shared.stores import CandidateStore

    store = CandidateStore(db)
    counts = {}
    for lang in langs:
        candidates = build_candidates(lang)
        batch, pending = db.batch(), 0
        for keyword, items in candidates.items():
            store.put(keyword, items, lang, batch=batch)
            pending += 1
            if pending == BATCH_SIZE:
                batch.commit()
                batch, pending = db.batch(), 0
        if pending:
            batch.commit()
        counts[lang] = len(candidates)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", help=ENV_HELP)
    parser.add_argument("--lang", action="append", choices=sorted(LANGUAGE_FOLDERS), help="default: all")
    args = parser.parse_args(argv)
    _, clients = connect(args.env)
    counts = seed(clients.firestore, tuple(args.lang or LANGUAGE_FOLDERS))
    print("seeded candidates: " + ", ".join(f"{lang} {n} keywords" for lang, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
