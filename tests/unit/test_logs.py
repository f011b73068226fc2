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


import io
import json

import pytest

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "headers, trace_id, span_id",
    [
        ({"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}, TRACE_ID, "00f067aa0ba902b7"),
        ({"X-Cloud-Trace-Context": f"{TRACE_ID}/255;o=1"}, TRACE_ID, "00000000000000ff"),
        ({"X-Cloud-Trace-Context": TRACE_ID.upper()}, TRACE_ID, None),
        # traceparent wins over the older header
        ({"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01", "X-Cloud-Trace-Context": "a" * 32}, TRACE_ID, "00f067aa0ba902b7"),
        ({"traceparent": "garbage", "X-Cloud-Trace-Context": f"{TRACE_ID}/1"}, TRACE_ID, "0000000000000001"),
        ({"traceparent": f"00-{'0' * 32}-00f067aa0ba902b7-01"}, None, None),  # all-zero id is invalid
        ({}, None, None),
    ],
)
def test_the_callers_trace_is_read_from_either_header(headers, trace_id, span_id):
    context = logs.from_headers(headers)
    if trace_id is None:
        assert context is None
        return
    assert context.trace_id == trace_id
    if span_id:
        assert context.span_id == span_id
    assert logs.parse_traceparent(context.traceparent()) == context  # survives a hop


def test_propagation_attributes_carry_the_current_trace_only_inside_its_block():
    context = logs.new_trace()
    assert logs.propagation_attributes() == {}
    with logs.trace(context):
        assert logs.propagation_attributes() == {"traceparent": context.traceparent()}
    assert logs.propagation_attributes() == {}


def test_a_record_comes_out_as_one_json_line_with_severity_trace_and_labels():
    stream = io.StringIO()
    logger = logging.getLogger("test_logs.structured")
    logger.propagate = False
    logger.addHandler(logs.make_handler("proj", stream=stream))
    logger.setLevel(logging.INFO)
    context = logs.parse_traceparent(f"00-{TRACE_ID}-00f067aa0ba902b7-01")
    with logs.trace(context), logs.labels(message_id="m-1"):
        logger.warning("hello %s", "world")
    (line,) = [l for l in stream.getvalue().splitlines() if "hello" in l]
    record = json.loads(line)
    assert record["message"] == "hello world"
    assert record["severity"] == "WARNING"
    assert record["logging.googleapis.com/trace"] == f"projects/proj/traces/{TRACE_ID}"
    assert record["logging.googleapis.com/spanId"] == "00f067aa0ba902b7"
    assert record["logging.googleapis.com/labels"]["message_id"] == "m-1"
