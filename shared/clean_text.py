"""Clean text in: what ingress refuses in free-text fields, and how it normalises ``text``.

Refused (400 ``invalid_argument``), in ``user_id`` and ``text``:
- C0 and C1 control characters (NUL included) other than tab, line feed and
  carriage return, and DEL;
- bidirectional embeddings, overrides and isolates (U+202A-U+202E,
  U+2066-U+2069), which make text display in another order than it is stored;
- text made only of invisible characters: white space, zero-width and other
  format characters, variation selectors, Hangul fillers, the Braille blank.

``text`` is then normalised with NFKC (full-width ASCII and half-width kana
become their usual forms, so keywords match however they were typed) where
that is safe: when the result still fits the length limit and is still
clean; otherwise it is kept in NFC.

The patterns are the spec's too (infra/openapi.yaml), checked by
tests/unit/test_openapi.py.
"""

from __future__ import annotations

import re
import unicodedata

CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
INVISIBLE = (
    r"\s\x00-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    r"\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0"
)
CONTROL_RE = re.compile(f"[{CONTROL}]")
VISIBLE_RE = re.compile(f"[^{INVISIBLE}]")
# One pattern for the spec: some visible character, and no refused one.
PATTERN = f"^(?=[\\s\\S]*[^{INVISIBLE}])[^{CONTROL}]*$"


def problem(value: str) -> str | None:
    """Why ``value`` is refused, or None if it is clean."""
    if CONTROL_RE.search(value):
        return "must not contain control characters or bidirectional overrides"
    if not VISIBLE_RE.search(value):
        return "must contain a visible character"
    return None


def normalize(value: str, max_chars: int) -> str:
    """NFKC where safe (fits ``max_chars``, still clean), else NFC."""
    nfkc = unicodedata.normalize("NFKC", value)
    if len(nfkc) <= max_chars and problem(nfkc) is None:
        return nfkc
    nfc = unicodedata.normalize("NFC", value)
    return nfc if len(nfc) <= max_chars and problem(nfc) is None else value
