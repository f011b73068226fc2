"""Structured logging: JSON lines that Cloud Logging parses.

google-cloud-logging's ``StructuredLogHandler`` writes one JSON object per
record with ``severity``, ``message`` and the trace of the current Flask
request. A small filter adds the labels of the work in hand (the message id),
so one utterance can be followed across functions.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from typing import Iterator

_labels: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("log_labels", default={})


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


def setup(project: str, level: int = logging.INFO) -> None:
    """Route the root logger through the structured handler, once."""
    root = logging.getLogger()
    if any(getattr(h, "_zatsudan", False) for h in root.handlers):
        return
    from google.cloud.logging.handlers import StructuredLogHandler

    handler = StructuredLogHandler(project_id=project)
    handler.addFilter(_LabelFilter())
    handler._zatsudan = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
