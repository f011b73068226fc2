"""Text to ids for the dual encoder: stable, bounded, whitespace-proof."""

from __future__ import annotations

import pytest

from shared.ranking.ngrams import BOUNDARY, NgramConfig, encode, ngram_ids, prepare

CONFIG = NgramConfig(buckets=1024, orders=(1, 2, 3), max_ids=32)


@pytest.mark.parametrize(
    "raw, prepared",
    [
        ("Hello  World", f"{BOUNDARY}hello world{BOUNDARY}"),
        ("line one\nline\ttwo\r\n", f"{BOUNDARY}line one line two{BOUNDARY}"),
        ("ＡＢＣ　猫", f"{BOUNDARY}abc 猫{BOUNDARY}"),  # NFKC: full-width letters and space
        ("", f"{BOUNDARY}{BOUNDARY}"),
    ],
)
def test_text_is_normalised_and_whitespace_collapsed_before_n_grams(raw, prepared):
    assert prepare(raw) == prepared


@pytest.mark.parametrize("text", ["猫が好きです", "I love cats", "a\nb"])
def test_ids_are_in_range_stable_and_never_padding(text):
    ids = ngram_ids(text, CONFIG)
    assert ids and all(1 <= i < CONFIG.buckets for i in ids)
    assert ids == ngram_ids(text, CONFIG)


def test_texts_that_differ_only_in_whitespace_get_the_same_ids():
    assert ngram_ids("good\n\nmorning", CONFIG) == ngram_ids("good morning", CONFIG)


def test_the_hash_is_fixed_across_processes():
    """Training and serving run in different processes: crc32, not hash()."""
    assert ngram_ids("ok", NgramConfig(buckets=1 << 14, orders=(1,), words=False, max_ids=8, word_orders=())) == [
        1 + __import__("zlib").crc32(b"1:o") % ((1 << 14) - 1),
        1 + __import__("zlib").crc32(b"1:k") % ((1 << 14) - 1),
    ]


def test_encode_pads_with_zeros_and_truncates_long_texts():
    matrix = encode(["", "hi", "x" * 500], CONFIG)
    assert matrix.shape == (3, CONFIG.max_ids) and str(matrix.dtype) == "int32"
    assert matrix[0].sum() == 0  # an empty text is all padding: the model's mean must cope
    assert (matrix[1] > 0).sum() == len(ngram_ids("hi", CONFIG))
    assert (matrix[2] > 0).all()


def test_config_round_trips_through_a_manifest():
    assert NgramConfig.from_dict(CONFIG.to_dict()) == CONFIG


def test_whole_words_are_features_too():
    with_words = ngram_ids("good morning", NgramConfig(buckets=1024, orders=(1,), words=True, max_ids=64))
    without = ngram_ids("good morning", NgramConfig(buckets=1024, orders=(1,), words=False, max_ids=64))
    assert len(with_words) == len(without) + 2


def test_word_n_grams_ignore_punctuation_and_survive_truncation():
    config = NgramConfig(buckets=1 << 16, orders=(1, 2, 3), words=False, max_ids=16, word_orders=(1, 2))
    words = NgramConfig(buckets=1 << 16, orders=(), words=False, max_ids=16, word_orders=(1, 2))
    assert ngram_ids("I like jazz!", words) == ngram_ids("i like, jazz", words)
    assert len(ngram_ids("I like jazz", words)) == 3 + 2  # three words, two word pairs
    long = ngram_ids("I like jazz and old blues records", config)
    assert len(long) == 16 and long[:13] == ngram_ids("I like jazz and old blues records", words)


def test_a_manifest_without_word_orders_reads_as_none():
    legacy = {k: v for k, v in CONFIG.to_dict().items() if k != "word_orders"}
    assert NgramConfig.from_dict(legacy).word_orders == ()
