"""Many texts as one UTF-8 byte array, one per line: how a published model's
candidate table stores its reply and context texts (``candidates.npz``)."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def pack_texts(texts: Sequence[str]) -> np.ndarray:
    """Texts as one UTF-8 byte array, one per line (normalised texts hold no
    newline): a fixed-width string array would take 4 bytes a character at
    the longest text's width, a gigabyte for the whole reply corpus."""
    if any("\n" in t for t in texts):
        raise ValueError("a packed text may not contain a newline")
    return np.frombuffer("\n".join(texts).encode("utf-8"), dtype=np.uint8)


def unpack_texts(packed: np.ndarray, count: int) -> list[str]:
    return packed.tobytes().decode("utf-8").split("\n") if count else []


class PackedTexts(Sequence[str]):
    """Packed texts decoded one at a time, when asked for: the contexts are
    read only for the few replies the look-up by meaning returns, and
    decoding all of them cost a cold start about 0.2 s."""

    def __init__(self, packed: np.ndarray, count: int) -> None:
        self._packed = packed
        self._ends = np.append(np.flatnonzero(packed == NEWLINE), len(packed)) if count else np.zeros(0, np.intp)

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        start = self._ends[index - 1] + 1 if index > 0 else 0
        return self._packed[start : self._ends[index]].tobytes().decode("utf-8")


NEWLINE = 0x0A
