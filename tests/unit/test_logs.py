"""Log labels: the message id in hand follows every log record."""

from __future__ import annotations

import logging

from shared import logs


def _record() -> logging.LogRecord:
    return logging.LogRecord("t", logging.INFO, __file__, 1, "msg", None, None)


def test_labels_are_added_inside_the_block_only():
    label_filter = logs._LabelFilter()
    with logs.labels(message_id="m-1"):
        inside = _record()
        assert label_filter.filter(inside)
    outside = _record()
    label_filter.filter(outside)
    assert inside.labels == {"message_id": "m-1"}
    assert not hasattr(outside, "labels")


def test_nested_labels_merge_and_empty_values_are_dropped():
    label_filter = logs._LabelFilter()
    with logs.labels(message_id="m-1"), logs.labels(function="scorer", empty=""):
        record = _record()
        label_filter.filter(record)
    assert record.labels == {"message_id": "m-1", "function": "scorer"}


def test_labels_given_on_the_record_win():
    label_filter = logs._LabelFilter()
    with logs.labels(message_id="m-1"):
        record = _record()
        record.labels = {"message_id": "explicit"}
        label_filter.filter(record)
    assert record.labels == {"message_id": "explicit"}
