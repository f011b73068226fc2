"""Seed the reply corpus into Firestore: the local stack's ``candidates/{keyword}``.

    python -m jobs.seed --env .run/stack.env

The same code as the corpus pipeline (``jobs/corpus``), in one process and
without BigQuery: the sources' pairs become posts rows
(``sources.Pair.rows``), the filter rules run in their plain-Python form
(``jobs/corpus/reference.py``, which a test holds equal to the generated SQL),
and ``jobs/corpus/candidates.py`` builds each keyword's document. The first
run builds the table (a progress bar; about a minute for all of
RealPersonaChat) and keeps it in ``.run/corpus-cache/``; later runs reuse it
until a source or the code that builds it changes. Writing skips documents
whose content is already stored, and a marker document says which build the
database holds, so seeding a seeded database is one read.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
from collections import Counter
import sys
from pathlib import Path
from typing import Iterable, Sequence

from jobs import ENV_HELP, connect
from jobs.corpus import candidates as candidates_lib, reference, rules as rules_lib, sources
from jobs.corpus.candidates import KeywordCandidates

REPO = Path(__file__).resolve().parents[1]
CACHE_DIR = REPO / ".run" / "corpus-cache"
# What the bot answers from: real Japanese chit-chat, greetings, English chat.
DEFAULT_SOURCES = ("real_persona_chat", "nagonbot", "chatterbot", "chitchat")
# chitchat-dataset pairs (English) in the default seed: all of them (None).
# A 20,000-pair sample left 8,180 English keywords and replies to match:
# "I have two cats" got "...half of my family is allergic to cats", now
# "What kind of cats do you have?". `--sample N` seeds faster for a try.
DEFAULT_SAMPLE: int | None = None
# Files whose change makes a cached build stale.
BUILD_INPUTS = (
    "jobs/corpus/sources.py", "jobs/corpus/real_persona_chat.py", "jobs/corpus/candidates.py",
    "jobs/corpus/reference.py", "jobs/corpus/rules.py", "shared/text.py", "data/real_persona_chat/dialogues.jsonl.gz",
)
MARKER = ("corpus_builds", "current")
ALWAYS_FULL = frozenset({"real_persona_chat"})


def build_key(source_names: Sequence[str], sample: int | None, rules_version: str) -> str:
    digest = hashlib.sha256(json.dumps([list(source_names), sample, rules_version]).encode())
    for name in BUILD_INPUTS:
        digest.update((REPO / name).read_bytes())
    for path in sorted((REPO / "jobs/corpus/rules" / rules_version).iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build(source_names: Sequence[str] = DEFAULT_SOURCES, sample: int | None = DEFAULT_SAMPLE,
          rules_version: str = rules_lib.DEFAULT_VERSION, progress: bool = True) -> list[KeywordCandidates]:
    """Every keyword's candidate document, from the sources (pure: no Firestore)."""
    from tqdm import tqdm

    # All of RealPersonaChat always (it is what the bot says in Japanese); ``sample`` of the others.
    pairs = tqdm(sources.pairs(source_names, sample, whole=ALWAYS_FULL), desc="corpus pairs", unit=" pairs",
                 disable=not progress, mininterval=1.0)
    kept = reference.clean(rules_lib.load(rules_version), list(sources.rows(pairs)))
    return list(candidates_lib.build(kept).values())


def cached_build(source_names: Sequence[str] = DEFAULT_SOURCES, sample: int | None = DEFAULT_SAMPLE,
                 rules_version: str = rules_lib.DEFAULT_VERSION, cache_dir: Path = CACHE_DIR,
                 progress: bool = True) -> tuple[str, list[KeywordCandidates]]:
    """(build key, documents): read from the cache, or built and cached."""
    key = build_key(source_names, sample, rules_version)
    path = cache_dir / f"candidates-{key}.jsonl.gz"
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as file:
            docs = [_from_json(json.loads(line)) for line in file]
        return key, docs
    docs = build(source_names, sample, rules_version, progress)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with gzip.open(partial, "wt", encoding="utf-8") as file:
        for doc in docs:
            file.write(json.dumps({"keyword": doc.keyword, "lang": doc.lang, "candidates": doc.candidates}, ensure_ascii=False) + "\n")
    partial.rename(path)  # a killed build leaves no half cache behind
    return key, docs


def _from_json(data: dict) -> KeywordCandidates:
    return KeywordCandidates(keyword=data["keyword"], lang=data["lang"], candidates=tuple(data["candidates"]))


def write(db, key: str, docs: Iterable[KeywordCandidates], progress: bool = True) -> int:
    """Writes the documents unless the marker says this build is stored; returns documents written."""
    from tqdm import tqdm

    from jobs.corpus.store import CandidateWriter

    marker = db.collection(MARKER[0]).document(MARKER[1])
    snapshot = marker.get()
    if snapshot.exists and (snapshot.to_dict() or {}).get("key") == key:
        return 0
    docs = list(docs)
    with tqdm(total=len(docs), desc="writing candidates", unit=" keywords", disable=not progress, mininterval=1.0) as bar:
        written = CandidateWriter(db).write(docs, after_batch=lambda n: bar.update(n - bar.n))
    marker.set({"key": key, "keywords": len(docs)})
    return written


def seed(db, source_names: Sequence[str] = DEFAULT_SOURCES, sample: int | None = DEFAULT_SAMPLE,
         progress: bool = False) -> dict[str, int]:
    """Builds (or reuses) and stores the corpus; returns keywords per language."""
    key, docs = cached_build(source_names, sample, progress=progress)
    write(db, key, docs, progress=progress)
    return dict(Counter(doc.lang for doc in docs))


def restore_model_pointer(db, store_url: str) -> str | None:
    """Points ``models/current`` at the model store's latest version when the
    database names none (a restarted local stack starts with an empty
    Firestore, while ``make train``'s versions stay in ``.run/models``).
    Returns the version pointed to, or None."""
    from jobs.train.publish import point_to
    from shared.model_store import open_store
    from shared.ranking.encoder_model import MANIFEST
    from shared.stores import model_pointer_reader

    if model_pointer_reader(db)() is not None:
        return None
    store = open_store(store_url)
    if not store.exists("LATEST"):
        return None
    version = store.read("LATEST").decode().strip()
    folder = store.child(f"versions/{version}")
    if not folder.exists(MANIFEST):
        return None
    point_to(db, version, folder.url, {"restored_by": "jobs.seed"})
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", help=ENV_HELP)
    parser.add_argument("--source", action="append", choices=sorted(sources.SOURCES), help=f"default: {', '.join(DEFAULT_SOURCES)}")
    parser.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, help="pairs of each large source but RealPersonaChat")
    parser.add_argument("--full", action="store_true", help="every pair of every source (the default)")
    args = parser.parse_args(argv)
    settings, clients = connect(args.env)
    counts = seed(clients.firestore, tuple(args.source or DEFAULT_SOURCES), None if args.full else args.sample, progress=True)
    print("seeded candidates: " + ", ".join(f"{lang} {n} keywords" for lang, n in sorted(counts.items())))
    if version := restore_model_pointer(clients.firestore, settings.model_store):
        print(f"model {version} (from {settings.model_store}) is current again: the dual encoder answers most lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
