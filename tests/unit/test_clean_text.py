"""Clean text in: control characters, bidi overrides and invisible-only text are 400; text is NFKC'd where safe."""

from __future__ import annotations

import pytest

from shared import clean_text
from shared.config import Settings
from shared.errors import ApiError
from shared.ingress import utterance_rules, validate

RULES = utterance_rules(Settings())


@pytest.mark.parametrize(
    "text",
    ["a\x00b", "hello\x07", "\x1b[31mred", "abc\x7f", "a\x85b", "\u202eevil.exe", "x\u202ay", "\u2066isolate\u2069",
     "\u200b", "\u200b\u200c\u200d\ufeff", "\u3164\u3164", "\u2800", "\u180e", "\ufe0f", "\u00ad"],
    ids=["nul", "bell", "escape", "del", "c1", "rlo", "lre", "isolates", "zwsp", "zero-widths", "hangul-filler",
         "braille-blank", "mongolian-vs", "variation-selector", "soft-hyphen"],
)
def test_refused_text_is_a_400_invalid_argument(text):
    with pytest.raises(ApiError) as raised:
        validate({"user_id": "u1", "text": text}, RULES)
    assert (raised.value.status, raised.value.code) == (400, "invalid_argument")
    assert "text" in raised.value.message


def test_a_user_id_with_a_nul_is_refused_too():
    with pytest.raises(ApiError):
        validate({"user_id": "u\x001", "text": "hi"}, RULES)


@pytest.mark.parametrize(
    "raw, stored",
    [("ｈｅｌｌｏ　ＷＯＲＬＤ", "hello WORLD"), ("ｶﾀｶﾅ", "カタカナ"), ("猫が好き", "猫が好き"), ("line one\nline two\tend", "line one\nline two\tend"),
     ("a\u200bb", "a\u200bb"), ("e\u0301", "é")],
)
def test_accepted_text_is_nfkc_normalised(raw, stored):
    assert validate({"user_id": "u1", "text": raw}, RULES)["text"] == stored


def test_nfkc_is_skipped_when_it_would_overflow_the_limit():
    raw = "\ufdfa" * 10  # one character that NFKC expands to 18
    assert clean_text.normalize(raw, 100) == raw
    assert len(clean_text.normalize(raw, 1000)) == 180


def test_the_user_id_is_not_normalised():
    assert validate({"user_id": "ｕ１", "text": "hi"}, RULES)["user_id"] == "ｕ１"
