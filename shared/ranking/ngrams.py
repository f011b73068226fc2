"""Text to ids for the dual encoder: hashed character n-grams, in Python.

Character n-grams need no word segmenter, so Japanese and English go through
the same code. Hashing is done here rather than in the graph: the TFLite
export then needs no string ops, and training and serving share one function.
Id 0 is padding; an n-gram hashes into ``1 .. buckets - 1``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zlib
from dataclasses import asdict, dataclass

import numpy as np

_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
# Marks the start and end of the text, so "ok" and "ok?" share "^o".
BOUNDARY = "\u2581"


@dataclass(frozen=True)
class NgramConfig:
    buckets: int = 1 << 16
    orders: tuple[int, ...] = (1, 2, 3)
    # Whole space-separated tokens, punctuation attached (the first
    # versions' word feature; ``word_orders`` supersedes it, kept so that
    # versions published with it still encode as they were trained).
    words: bool = False
    max_ids: int = 160
    # Word n-grams over ``\w+`` tokens (punctuation dropped): 1 = words,
    # 2 = word pairs ("not good" is not "good"). A Japanese sentence has few
    # such breaks, so its char n-grams carry it. Word ids are kept first when
    # a text has more ids than ``max_ids``; the char n-grams are thinned.
    word_orders: tuple[int, ...] = (1, 2)

    def to_dict(self) -> dict:
        return {**asdict(self), "orders": list(self.orders), "word_orders": list(self.word_orders)}

    @classmethod
    def from_dict(cls, data: dict) -> "NgramConfig":
        return cls(
            buckets=int(data["buckets"]),
            orders=tuple(int(n) for n in data["orders"]),
            words=bool(data.get("words", False)),
            max_ids=int(data["max_ids"]),
            word_orders=tuple(int(n) for n in data.get("word_orders", ())),
        )


def prepare(text: str) -> str:
    """NFKC, lower case, whitespace collapsed to one space (no newlines can
    reach an n-gram), with boundary marks."""
    collapsed = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()
    return f"{BOUNDARY}{collapsed}{BOUNDARY}"


@functools.lru_cache(maxsize=1 << 18)
def _bucket(order: int, gram: str, buckets: int) -> int:
    # crc32 rather than ``hash()``: stable across processes and machines, which
    # a model trained on one and served on another needs. Cached: n-grams repeat.
    return 1 + zlib.crc32(f"{order}:{gram}".encode("utf-8")) % (buckets - 1)


def ngram_ids(text: str, config: NgramConfig) -> list[int]:
    """Hashed ids of the text's n-grams, shortest orders first, at most ``max_ids``."""
    prepared = prepare(text)
    if prepared == BOUNDARY * 2:
        return []  # nothing to say: an all-padding row
    ids: list[int] = []
    if config.words:
        ids.extend(_bucket(0, word, config.buckets) for word in prepared.strip(BOUNDARY).split(" "))
    word_ids = _word_ngram_ids(prepared, config)
    for order in config.orders:
        for start in range(len(prepared) - order + 1):
            gram = prepared[start : start + order]
            if gram == BOUNDARY:
                continue
            ids.append(_bucket(order, gram, config.buckets))
    word_ids = word_ids[: config.max_ids]
    room = config.max_ids - len(word_ids)
    # Keep a spread of every order when the text is long: interleave by
    # taking evenly spaced ids rather than cutting the higher orders off.
    if len(ids) > room:
        step = len(ids) / room if room else 0
        ids = [ids[int(i * step)] for i in range(room)]
    return word_ids + ids


def _word_ngram_ids(prepared: str, config: NgramConfig) -> list[int]:
    if not config.word_orders:
        return []
    words = _WORD.findall(prepared.strip(BOUNDARY))
    return [
        _bucket(-order, " ".join(words[start : start + order]), config.buckets)
        for order in config.word_orders
        for start in range(len(words) - order + 1)
    ]


def encode(texts: list[str] | tuple[str, ...], config: NgramConfig) -> np.ndarray:
    """A ``[len(texts), max_ids]`` int32 matrix, zero-padded."""
    matrix = np.zeros((len(texts), config.max_ids), dtype=np.int32)
    for row, text in enumerate(texts):
        ids = ngram_ids(text, config)
        matrix[row, : len(ids)] = ids
    return matrix
