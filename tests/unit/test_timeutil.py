"""Timestamps: UTC RFC 3339 with milliseconds, and the gaps between them."""

from __future__ import annotations

import datetime as dt

import pytest

from shared import timeutil

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    "moment, expected",
    [
        (dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC), "2024-05-01T12:00:00.000Z"),
        (dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC), "2024-05-01T12:00:00.123Z"),  # truncated to ms
        (dt.datetime(2024, 5, 1, 21, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))), "2024-05-01T12:00:00.000Z"),
        (dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "1999-12-31T23:59:59.999Z"),
    ],
    ids=["whole-second", "microseconds", "jst", "end-of-century"],
)
def test_iso_is_utc_with_milliseconds_and_a_z_suffix(moment, expected):
    assert timeutil.iso(moment) == expected


@pytest.mark.parametrize("value", ["2024-05-01T12:00:00.000Z", "2024-02-29T23:59:59.999Z", "1970-01-01T00:00:00.001Z"])
def test_iso_of_parse_round_trips(value):
    assert timeutil.iso(timeutil.parse(value)) == value


def test_parse_of_iso_round_trips_at_millisecond_precision():
    moment = dt.datetime(2024, 5, 1, 12, 34, 56, 789000, tzinfo=UTC)
    assert timeutil.parse(timeutil.iso(moment)) == moment


@pytest.mark.parametrize("value", ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00+00:00", "2024-05-01T21:00:00+09:00"])
def test_parse_reads_z_and_offsets_as_aware_datetimes(value):
    parsed = timeutil.parse(value)
    assert parsed.tzinfo is not None
    assert parsed == dt.datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_now_is_aware_utc():
    assert timeutil.now().utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "start, end, ms",
    [
        ("2024-05-01T12:00:00.000Z", "2024-05-01T12:00:01.500Z", 1500.0),
        ("2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00.000Z", 0.0),
        ("2024-05-01T12:00:01.000Z", "2024-05-01T12:00:00.250Z", -750.0),  # clock skew shows as negative
        ("2024-05-01T23:59:59.999Z", "2024-05-02T00:00:00.000Z", 1.0),
    ],
)
def test_ms_between(start, end, ms):
    assert timeutil.ms_between(timeutil.parse(start), timeutil.parse(end)) == ms


def test_ms_between_rounds_to_microseconds():
    start = dt.datetime(2024, 5, 1, tzinfo=UTC)
    assert timeutil.ms_between(start, start + dt.timedelta(microseconds=1234)) == 1.234
