"""Identifiers: unique, time-sortable message ids; conversation ids safe as keys."""

from __future__ import annotations

import pytest
import ulid

from shared import ids


def test_message_ids_are_unique_over_many():
    many = [ids.new_message_id() for _ in range(5000)]
    assert len(set(many)) == len(many)


def test_message_ids_are_26_crockford_base32_characters():
    for value in (ids.new_message_id(), ids.new_conversation_id()):
        assert len(value) == 26
        assert set(value) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_message_ids_created_in_a_row_sort_in_creation_order():
    # Same-millisecond ids stay ordered too (monotonic ULIDs).
    created = [ids.new_message_id() for _ in range(2000)]
    assert sorted(created) == created


def test_message_ids_sort_by_their_creation_time(monkeypatch):
    """With a controlled clock: a later millisecond always sorts later,
    whatever the random part, and ids of one millisecond stay in order."""
    clock_ms = iter([1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_500, 1_700_000_060_000])
    monkeypatch.setattr(ids, "new_ulid", ids.UlidGenerator(clock_ms=lambda: next(clock_ms)))
    created = [ids.new_message_id() for _ in range(5)]
    assert sorted(created) == created
    stamps = [ulid.ULID.from_str(value).milliseconds for value in created]
    assert stamps == sorted(stamps) and stamps[0] == 1_700_000_000_000


def test_conversation_ids_are_valid_conversation_ids():
    assert ids.is_valid_conversation_id(ids.new_conversation_id())


@pytest.mark.parametrize(
    "value",
    ["a", "abc-DEF_123", "01HZX3V8Q4N6M2K7R9T0B5C1D1", "-", "_", "x" * 128],
)
def test_conversation_id_pattern_accepts_key_safe_ids(value):
    assert ids.is_valid_conversation_id(value)


@pytest.mark.parametrize(
    "value",
    ["", "x" * 129, "a/b", "a.b", "..", "a b", "a\nb", "猫", "a%2F", "a#b", "a$b", "a[0]", "__name__/x"],
    ids=["empty", "129-chars", "slash", "dot", "dotdot", "space", "newline", "kanji",
         "percent", "hash", "dollar", "brackets", "dunder-slash"],
)
def test_conversation_id_pattern_rejects_unsafe_ids(value):
    assert not ids.is_valid_conversation_id(value)


@pytest.mark.parametrize("value", ["abc\n", "x" * 127 + "\n"])
def test_conversation_id_pattern_rejects_a_trailing_newline(value):
    assert not ids.is_valid_conversation_id(value)


def test_ids_minted_in_one_millisecond_are_not_guessable_from_each_other():
    from ulid import ULID

    minted = [ids.new_message_id() for _ in range(2000)]
    values = sorted(int(ULID.from_str(m)) for m in minted)
    assert len(set(values)) == len(values)
    # python-ulid's monotonic generator made neighbours differ by exactly 1;
    # with 80 random bits no two are within 2**40 of each other.
    assert min(b - a for a, b in zip(values, values[1:])) > 2**40


def test_a_conversation_id_and_its_first_message_id_are_not_adjacent():
    from ulid import ULID

    for _ in range(200):
        conversation, message = ids.new_conversation_id(), ids.new_message_id()
        assert abs(int(ULID.from_str(message)) - int(ULID.from_str(conversation))) > 2**40


def test_a_millisecond_that_runs_out_of_random_steps_borrows_the_next():
    top = iter([2**80 - 1] + [0] * 10)
    generate = ids.UlidGenerator(clock_ms=lambda: 5, randbits=lambda bits: next(top))
    first, second = generate(), generate()
    assert first < second
    assert [ulid.ULID.from_str(v).milliseconds for v in (first, second)] == [5, 6]
