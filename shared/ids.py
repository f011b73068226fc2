"""Identifiers: time-sortable, unique, safe as Firestore and RTDB keys."""

from __future__ import annotations

import re

from ulid import ULID

# Caller-supplied conversation ids become path segments in Firestore and RTDB,
# so they are restricted to characters that are safe in both.
CONVERSATION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")


def new_message_id() -> str:
    """A ULID: 26 Crockford base32 characters that sort by creation time."""
    return str(ULID())


MESSAGE_ID_PATTERN = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


def is_valid_message_id(value: str) -> bool:
    return bool(MESSAGE_ID_PATTERN.fullmatch(value))


def new_conversation_id() -> str:
    return str(ULID())


def is_valid_conversation_id(value: str) -> bool:
    return bool(CONVERSATION_ID_PATTERN.fullmatch(value))
