"""Identifiers: time-sortable, unique, safe as Firestore and RTDB keys."""

from __future__ import annotations

import os
import re
import threading
import time

from ulid import ULID

# Caller-supplied conversation ids become path segments in Firestore and RTDB,
# so they are restricted to characters that are safe in both.
CONVERSATION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")


class UlidGenerator:
    """ULIDs whose random part cannot be guessed from another id.

    Not python-ulid's ``ULID()``: its generator is monotonic by +1, so two
    ids minted in one millisecond differ by exactly 1, and a caller who sees
    one (its conversation id, its message id) can name the next one, another
    user's message. Here the first id of a millisecond takes 80 fresh random
    bits, and a later id in the same millisecond (of this process) adds a
    random step of at least 2**40 to the previous one: ids still sort in
    creation order, and no neighbour is within 2**40 of another."""

    MIN_STEP = 2**40

    def __init__(self, clock_ms=lambda: time.time_ns() // 1_000_000, randbits=None) -> None:
        self._clock_ms = clock_ms
        self._randbits = randbits or (lambda bits: int.from_bytes(os.urandom((bits + 7) // 8), "big") >> (-bits % 8))
        self._lock = threading.Lock()
        self._last = (-1, 0)

    def __call__(self) -> str:
        with self._lock:
            ms = self._clock_ms()
            last_ms, last_random = self._last
            if ms > last_ms:
                random_part = self._randbits(80)
            else:  # the same millisecond (or the clock stepped back): step on from the last id
                ms = last_ms
                random_part = last_random + self.MIN_STEP + self._randbits(62)
                if random_part >= 2**80:  # the millisecond is used up: borrow the next one
                    ms, random_part = ms + 1, self._randbits(80)
            self._last = (ms, random_part)
        return str(ULID.from_bytes(ms.to_bytes(6, "big") + random_part.to_bytes(10, "big")))


new_ulid = UlidGenerator()


def new_message_id() -> str:
    return new_ulid()


MESSAGE_ID_PATTERN = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


def is_valid_message_id(value: str) -> bool:
    return bool(MESSAGE_ID_PATTERN.fullmatch(value))


def new_conversation_id() -> str:
    return new_ulid()


def is_valid_conversation_id(value: str) -> bool:
    return bool(CONVERSATION_ID_PATTERN.fullmatch(value))
