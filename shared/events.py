"""Event schemas, defined once: what travels on each Pub/Sub topic.

Each event is a frozen dataclass with ``to_dict``/``from_dict``. ``from_dict``
validates types and rejects unknown fields, so a malformed event fails fast
with a ``SchemaError`` that names the field (and is dead-lettered, not retried).
Bump ``SCHEMA_VERSION`` on an incompatible change.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

SCHEMA_VERSION = 1

LANGUAGES = ("ja", "en")


class SchemaError(ValueError):
    """An event that can never be processed: wrong shape, type or version."""


def _is_instance(value: Any, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if origin is list:
        (item_type,) = typing.get_args(expected)
        return isinstance(value, list) and all(_is_instance(v, item_type) for v in value)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_is_instance(value, option) for option in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if expected is float:  # JSON does not distinguish 1 from 1.0
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if dataclasses.is_dataclass(expected):
        return isinstance(value, dict)
    return isinstance(value, expected)


class _Event:
    """Shared ``to_dict``/``from_dict`` for the event dataclasses below."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, data: Any):
        if not isinstance(data, dict):
            raise SchemaError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise SchemaError(f"{cls.__name__}: unknown field(s) {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, fld in known.items():
            if name not in data:
                if fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
                    raise SchemaError(f"{cls.__name__}: missing field {name}")
                continue
            value, expected = data[name], hints[name]
            if not _is_instance(value, expected):
                raise SchemaError(f"{cls.__name__}: field {name} has the wrong type")
            nested = _nested_dataclass(expected)
            if nested is not None:
                value = [nested.from_dict(v) for v in value]
            values[name] = value
        event = cls(**values)
        event.validate()
        return event

    @classmethod
    def from_json(cls, raw: bytes | str):
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SchemaError(f"{cls.__name__}: not JSON ({exc})") from None
        return cls.from_dict(data)

    def validate(self) -> None:
        version = getattr(self, "schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise SchemaError(f"unsupported schema_version {version}")


def _nested_dataclass(expected: Any):
    if typing.get_origin(expected) is list:
        (item_type,) = typing.get_args(expected)
        if dataclasses.is_dataclass(item_type):
            return item_type
    return None


@dataclass(frozen=True)
class UtteranceEvent(_Event):
    """Published by ingress on ``utterances``; consumed by the scorer."""

    message_id: str
    conversation_id: str
    user_id: str
    text: str
    lang: str
    algorithm: str
    propensity: float
    reply_path: str
    received_at: str
    schema_version: int = SCHEMA_VERSION

    def validate(self) -> None:
        super().validate()
        if self.lang not in LANGUAGES:
            raise SchemaError(f"unsupported lang {self.lang!r}")
        if not self.text.strip():
            raise SchemaError("empty text")
        if not 0.0 < self.propensity <= 1.0:
            raise SchemaError("propensity must be in (0, 1]")


@dataclass(frozen=True)
class ScoredText(_Event):
    text: str
    score: float


@dataclass(frozen=True)
class SelectionLog(_Event):
    """Published by the scorer on ``selection-logs``; one BigQuery row each."""

    message_id: str
    conversation_id: str
    user_id: str
    lang: str
    algorithm: str
    propensity: float
    keywords: list[str]
    candidates: list[ScoredText]
    candidate_count: int
    reply_text: str
    reply_score: float
    fallback: bool
    received_at: str
    replied_at: str
    queue_ms: float
    rank_ms: float
    total_ms: float
    schema_version: int = SCHEMA_VERSION

    # How many of the best candidates a log carries (the rest only counted).
    TOP_N: ClassVar[int] = 10

    def validate(self) -> None:
        super().validate()
        if not self.message_id:
            raise SchemaError("empty message_id")

    def to_row(self) -> dict[str, Any]:
        """The BigQuery row (see ``shared/schemas/selections.json``)."""
        return self.to_dict()
