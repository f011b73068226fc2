"""Rows of one shard -> the candidate document of each keyword (pure logic).

Shards are cut by keyword (every row of a keyword is in one shard), so a
keyword's document is built from its rows alone, the same way every time: a
redelivered shard or a re-run yields byte-identical documents, and no two
workers ever write the same document.

Per keyword: replies are normalised (``shared.text.normalize``) and
de-duplicated (case-insensitively). Specific replies rank first: a reply that
answered many different posts ("そうですね", "Yeah") or is very short is
generic and goes last (or, where a keyword has ``ENOUGH_SPECIFIC`` others,
is left out); then replies to the shortest posts (where the keyword
is the topic rather than a passing word), then replies of a comfortable
length, then the text (a stable tie-break); the list is capped. The
representative of a reply (its context and source) is the row with the
smallest post id.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping

from shared import text as textlib

# Firestore documents hold at most 1 MiB (the seed caps at 300 too).
MAX_CANDIDATES_PER_KEYWORD = 300
# Replies of about this many characters read best in a chat (per language).
COMFORTABLE_REPLY_CHARS = {"ja": 20, "en": 40}
# Shorter replies than this say nothing specific ("はい!", "lol").
SPECIFIC_REPLY_CHARS = {"ja": 6, "en": 12}
# A reply given to this many different posts of one keyword is a stock line.
GENERIC_SUPPORT = 3
LENGTH_STEP = 10  # length differences within a step rank alike


@dataclass(frozen=True)
class KeywordCandidates:
    keyword: str
    lang: str
    candidates: tuple[dict, ...]  # {"text", "context", "source", "terms"}

    @property
    def content_hash(self) -> str:
        body = json.dumps(
            {"keyword": self.keyword, "lang": self.lang, "candidates": list(self.candidates)},
            ensure_ascii=False,
            sort_keys=True,
        )
        return hashlib.sha256(body.encode("utf-8")).hexdigest()


# With this many specific replies, a keyword keeps no generic one at all.
ENOUGH_SPECIFIC = 10


def _is_generic(lang: str, reply: str, support: int) -> bool:
    return support >= GENERIC_SUPPORT or len(reply) < SPECIFIC_REPLY_CHARS.get(lang, 8)


def _rank_key(lang: str, generic: bool, reply: str, post: str) -> tuple:
    comfortable = COMFORTABLE_REPLY_CHARS.get(lang, 30)
    return (generic, len(post) // LENGTH_STEP, abs(len(reply) - comfortable) // LENGTH_STEP, reply)


def _candidate(reply: str, post: str, source: str, lang: str) -> dict:
    """The stored candidate: reply, the post it answered, where from, and the
    terms of both (``shared.text.terms``) so that ranking tokenises nothing."""
    terms = (*textlib.terms(post, lang), *textlib.terms(reply, lang))
    return {"text": reply, "context": post, "source": source, "terms": " ".join(t for t in terms if t and " " not in t)}


def build(rows: Iterable[Mapping], cap: int = MAX_CANDIDATES_PER_KEYWORD) -> dict[str, KeywordCandidates]:
    """keyword -> its ranked, capped candidates."""
    by_keyword: dict[str, list[Mapping]] = defaultdict(list)
    for row in rows:
        by_keyword[row["keyword"]].append(row)
    return {keyword: _build_one(keyword, keyword_rows, cap) for keyword, keyword_rows in sorted(by_keyword.items())}


def _build_one(keyword: str, rows: list[Mapping], cap: int) -> KeywordCandidates:
    langs = Counter(row["lang"] for row in rows)
    lang = min(langs, key=lambda l: (-langs[l], l))
    first: dict[str, tuple[str, str, str, str]] = {}  # reply key -> (post id, reply, post, source), normalised
    posts: dict[str, set[str]] = defaultdict(set)  # reply key -> folded posts it answered
    for row in rows:
        reply = textlib.normalize(row["reply_text"])
        if not reply:
            continue
        key, post = reply.casefold(), textlib.normalize(row["text"])
        posts[key].add(post.casefold())
        if key not in first or row["post_id"] < first[key][0]:
            first[key] = (row["post_id"], reply, post, row["source"])
    generic = {k for k, (_, reply, _, _) in first.items() if _is_generic(lang, reply, len(posts[k]))}
    ranked = sorted(first, key=lambda k: _rank_key(lang, k in generic, first[k][1], first[k][2]))
    if len(ranked) - len(generic) >= ENOUGH_SPECIFIC:
        ranked = [k for k in ranked if k not in generic]
    candidates = tuple(_candidate(*first[k][1:], lang) for k in ranked[:cap])
    return KeywordCandidates(keyword=keyword, lang=lang, candidates=candidates)
