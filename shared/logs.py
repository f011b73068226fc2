"""Structured logging: JSON lines that Cloud Logging parses, with trace correlation.

google-cloud-logging's ``StructuredLogHandler`` writes one JSON object per
record with ``severity``, ``message``, labels and ``logging.googleapis.com/trace``.
A small chain of filters (processors, each adding one thing) runs before it:

- ``_LabelFilter``: the labels of the work in hand (the message id);
- ``_TraceFilter``: the trace of the work in hand.

The trace comes from the incoming request (``traceparent`` or
``X-Cloud-Trace-Context`` header) at ingress, travels on every Pub/Sub message
as a ``traceparent`` attribute (added by ``shared.messaging.publish.Publisher``), and is
restored by the push handler, so one utterance can be followed across
ingress, scorer and log sink by its trace and its ``message_id`` label.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Iterator, Mapping

_labels: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("log_labels", default={})


@dataclass(frozen=True)
class TraceContext:
    trace_id: str  # 32 lowercase hex
    span_id: str  # 16 lowercase hex
    sampled: bool = True

    def traceparent(self) -> str:
        """W3C Trace Context header value."""
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

    def child(self) -> "TraceContext":
        """The same trace, a new span: the next hop's own work."""
        return TraceContext(self.trace_id, secrets.token_hex(8), self.sampled)


_trace: contextvars.ContextVar[TraceContext | None] = contextvars.ContextVar("log_trace", default=None)

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d{1,20}))?(?:;o=([01]))?$")
_INVALID_TRACE_ID = "0" * 32


def parse_traceparent(value: str | None) -> TraceContext | None:
    match = _TRACEPARENT.match((value or "").strip().lower())
    if not match or match.group(1) == _INVALID_TRACE_ID:
        return None
    return TraceContext(match.group(1), match.group(2), bool(int(match.group(3), 16) & 1))


def parse_cloud_trace_context(value: str | None) -> TraceContext | None:
    """``TRACE_ID/SPAN_ID;o=1`` (span id in decimal), Google's older header."""
    match = _CLOUD_TRACE.match((value or "").strip())
    if not match or match.group(1) == _INVALID_TRACE_ID:
        return None
    span = int(match.group(2) or 0) % (1 << 64)
    span_id = f"{span:016x}" if span else secrets.token_hex(8)
    return TraceContext(match.group(1).lower(), span_id, match.group(3) != "0")


def from_headers(headers: Mapping[str, str]) -> TraceContext | None:
    """The caller's trace: ``traceparent`` first, else ``X-Cloud-Trace-Context``."""
    return parse_traceparent(headers.get("traceparent")) or parse_cloud_trace_context(
        headers.get("X-Cloud-Trace-Context")
    )


def new_trace() -> TraceContext:
    return TraceContext(secrets.token_hex(16), secrets.token_hex(8))


def current_trace() -> TraceContext | None:
    return _trace.get()


def propagation_attributes() -> dict[str, str]:
    """Pub/Sub attributes that carry the current trace to the next function."""
    current = _trace.get()
    return {"traceparent": current.traceparent()} if current else {}


@contextlib.contextmanager
def trace(context: TraceContext | None) -> Iterator[None]:
    """Log records inside the block carry ``context``'s trace (None: unchanged)."""
    if context is None:
        yield
        return
    token = _trace.set(context)
    try:
        yield
    finally:
        _trace.reset(token)


@contextlib.contextmanager
def labels(**values: str) -> Iterator[None]:
    token = _labels.set({**_labels.get(), **{k: v for k, v in values.items() if v}})
    try:
        yield
    finally:
        _labels.reset(token)


class _LabelFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        current = _labels.get()
        if current:
            record.labels = {**current, **(getattr(record, "labels", None) or {})}
        return True


class _TraceFilter(logging.Filter):
    """Sets the record's trace from the context (a trace given on the record wins)."""

    def __init__(self, project: str) -> None:
        super().__init__()
        self.project = project

    def filter(self, record: logging.LogRecord) -> bool:
        current = _trace.get()
        if current is not None and not hasattr(record, "trace"):
            record.trace = f"projects/{self.project}/traces/{current.trace_id}"
            record.span_id = current.span_id
            record.trace_sampled = current.sampled
        return True


def processors(project: str) -> list[logging.Filter]:
    """The chain, in order; each runs before the structured handler's own filter."""
    return [_LabelFilter(), _TraceFilter(project)]


class _CloudFields(logging.Filter):
    """The fields ``StructuredLogHandler``'s format reads, as its own
    ``CloudLoggingFilter`` sets them, without its per-record inference of the
    HTTP request and trace from the web framework (Flask's headers parsed on
    every record: a third of a millisecond, most of a log line's cost). The
    trace is ours already (``_TraceFilter``); the request is not logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        record._resource = getattr(record, "resource", None)
        record._trace = getattr(record, "trace", None) or None
        record._span_id = getattr(record, "span_id", None) or None
        record._trace_sampled = bool(getattr(record, "trace_sampled", False))
        record._http_request = None
        record._source_location = {"line": record.lineno, "file": record.pathname, "function": record.funcName}
        record._labels = {"python_logger": record.name, **(getattr(record, "labels", None) or {})}
        record._trace_str = record._trace or ""
        record._span_id_str = record._span_id or ""
        record._trace_sampled_str = "true" if record._trace_sampled else "false"
        record._http_request_str = "{}"
        record._source_location_str = json.dumps(record._source_location, ensure_ascii=False)
        record._labels_str = json.dumps(record._labels, ensure_ascii=False)
        return True


def make_handler(project: str, stream=None) -> logging.Handler:
    from google.cloud.logging.handlers import StructuredLogHandler

    handler = StructuredLogHandler(project_id=project, stream=stream)
    # Ours first (labels, trace), then the fields the handler's format reads.
    handler.filters[:] = [*processors(project), _CloudFields()]
    return handler


def setup(project: str, level: int = logging.INFO) -> None:
    """Route the root logger through the structured handler, once."""
    root = logging.getLogger()
    if any(getattr(h, "_zatsudan", False) for h in root.handlers):
        return
    handler = make_handler(project)
    handler._zatsudan = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
