"""Timestamps: UTC, RFC 3339 with milliseconds, as BigQuery and JS both read."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def ms_between(start: dt.datetime, end: dt.datetime) -> float:
    return round((end - start).total_seconds() * 1000.0, 3)
