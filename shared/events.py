"""Event schemas, defined once: what travels on each Pub/Sub topic.

Each event is a frozen dataclass with ``to_dict``/``from_dict``. ``from_dict``
validates types and rejects unknown fields, so a malformed event fails fast
with a ``SchemaError`` that names the field (and is dead-lettered, not retried).
Bump ``SCHEMA_VERSION`` on an incompatible change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

from shared import ids

SCHEMA_VERSION = 1

LANGUAGES = ("ja", "en")


class SchemaError(ValueError):
    """An event that can never be processed: wrong shape, type or version."""


def _is_instance(value: Any, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if origin is list:
        (item_type,) = typing.get_args(expected)
        return isinstance(value, list) and all(_is_instance(v, item_type) for v in value)
    if origin in (typing.Union, types.UnionType):
        return any(_is_instance(value, option) for option in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if expected is float:  # JSON does not distinguish 1 from 1.0; NaN is not JSON
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if dataclasses.is_dataclass(expected):
        return isinstance(value, dict)
    return isinstance(value, expected)


@functools.cache
def _schema(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field]]:
    """A class's resolved field types and its fields, worked out once: resolving
    the string annotations compiles each one, about 0.2 ms a class per event."""
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls)}


class _Event:
    """Shared ``to_dict``/``from_dict`` for the event dataclasses below."""

    def to_dict(self) -> dict[str, Any]:
        # An optional field left at None is left out: events that do not use
        # it (most utterances carry no reply_to) stay as they always were.
        data = dataclasses.asdict(self)  # type: ignore[call-overload]
        return {k: v for k, v in data.items() if v is not None or k not in _OPTIONAL_NONE.get(type(self), ())}

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, data: Any):
        if not isinstance(data, dict):
            raise SchemaError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
        hints, known = _schema(cls)
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
            single = _single_dataclass(expected)
            if single is not None and value is not None:
                value = single.from_dict(value)
            values[name] = value
        return cls(**values)

    @classmethod
    def from_json(cls, raw: bytes | str):
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise SchemaError(f"{cls.__name__}: not JSON ({exc})") from None
        return cls.from_dict(data)

    def __post_init__(self) -> None:
        # Every event is checked where it is made, so ingress cannot publish
        # an event the scorer would reject.
        self.validate()

    def validate(self) -> None:
        version = getattr(self, "schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise SchemaError(f"unsupported schema_version {version}")


def _require_timestamp(name: str, value: str) -> None:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise SchemaError(f"{name} is not an RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise SchemaError(f"{name} has no time zone")


def _require_keys(message_id: str, conversation_id: str) -> None:
    # Both become Firestore and RTDB path segments.
    if not ids.is_valid_message_id(message_id):
        raise SchemaError("message_id is not a ULID")
    if not ids.is_valid_conversation_id(conversation_id):
        raise SchemaError("conversation_id is not 1-128 characters of A-Z a-z 0-9 _ -")


def _require_routing(lang: str, propensity: float) -> None:
    if lang not in LANGUAGES:
        raise SchemaError(f"unsupported lang {lang[:20]!r}")
    if not 0.0 < propensity <= 1.0:
        raise SchemaError("propensity must be in (0, 1]")


def _single_dataclass(expected: Any):
    """X for a field typed ``X`` or ``X | None`` where X is an event dataclass, else None."""
    if dataclasses.is_dataclass(expected):
        return expected
    if typing.get_origin(expected) in (typing.Union, types.UnionType):
        found = [t for t in typing.get_args(expected) if dataclasses.is_dataclass(t)]
        return found[0] if found else None
    return None


def _nested_dataclass(expected: Any):
    if typing.get_origin(expected) is list:
        (item_type,) = typing.get_args(expected)
        if dataclasses.is_dataclass(item_type):
            return item_type
    return None


REPLY_CHANNELS = ("callback", "line")


@dataclass(frozen=True)
class ReplyTarget(_Event):
    """Where the delivery function sends a reply besides the reply store.

    ``callback``: ``address`` is the caller's callback URL (checked at ingress
    and again at delivery, shared/callbacks.py). ``line``: ``address`` is the
    LINE user, group or room to push to; ``reply_token`` and ``event_at``
    (when LINE sent the event) let the reply go out with the reply token
    while it is valid (shared/line_sender.py)."""

    channel: str
    address: str
    reply_token: str | None = None
    event_at: str | None = None

    def validate(self) -> None:
        if self.channel not in REPLY_CHANNELS:
            raise SchemaError(f"reply_to.channel must be one of {', '.join(REPLY_CHANNELS)}")
        if not self.address or len(self.address) > 2048:
            raise SchemaError("reply_to.address must be 1-2048 characters")
        if self.event_at is not None:
            _require_timestamp("reply_to.event_at", self.event_at)


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
    # Optional: where the reply is delivered too (a callback URL, LINE), and
    # who posted it (shared/reply_endpoint.py lets only that caller read it).
    reply_to: ReplyTarget | None = None
    caller: str | None = None

    def validate(self) -> None:
        super().validate()
        _require_keys(self.message_id, self.conversation_id)
        _require_routing(self.lang, self.propensity)
        _require_timestamp("received_at", self.received_at)
        if not self.text.strip():
            raise SchemaError("empty text")


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
        _require_keys(self.message_id, self.conversation_id)
        _require_routing(self.lang, self.propensity)
        _require_timestamp("received_at", self.received_at)
        _require_timestamp("replied_at", self.replied_at)

    def to_row(self) -> dict[str, Any]:
        """The BigQuery row (see ``shared/schemas/selections.json``)."""
        return self.to_dict()

    @property
    def insert_id(self) -> str:
        return self.message_id


FEEDBACK_SOURCES = ("explicit", "continued")


@dataclass(frozen=True)
class FeedbackEvent(_Event):
    """Published by ingress on ``feedback``; one BigQuery row each.

    ``feedback_id`` (a ULID per request) is the idempotency key of the row;
    ``message_id`` names the reply being rated. ``source`` says how the reward
    was given: ``explicit`` (thumbs up/down) or ``continued`` (the user went on
    talking; see "Feedback, reports and the bandit" in docs/architecture.md).
    """

    feedback_id: str
    message_id: str
    user_id: str
    reward: float
    source: str
    given_at: str
    schema_version: int = SCHEMA_VERSION

    def validate(self) -> None:
        super().validate()
        for name in ("feedback_id", "message_id"):
            if not ids.is_valid_message_id(getattr(self, name)):
                raise SchemaError(f"{name} is not a ULID")
        if not -1.0 <= self.reward <= 1.0:
            raise SchemaError("reward must be in [-1, 1]")
        if self.source not in FEEDBACK_SOURCES:
            raise SchemaError(f"source must be one of {', '.join(FEEDBACK_SOURCES)}")
        _require_timestamp("given_at", self.given_at)

    def to_row(self) -> dict[str, Any]:
        """The BigQuery row (see ``shared/schemas/feedback.json``)."""
        return self.to_dict()

    @property
    def insert_id(self) -> str:
        return self.feedback_id


@dataclass(frozen=True)
class ReplyEvent(_Event):
    """Published by the scorer on ``replies`` once the reply is written, for
    an utterance that asked for delivery; consumed by the delivery function.
    ``message_id`` is the delivery's idempotency key (the callback's
    ``webhook-id``)."""

    message_id: str
    conversation_id: str
    user_id: str
    reply_to: ReplyTarget
    reply: dict
    schema_version: int = SCHEMA_VERSION

    def validate(self) -> None:
        super().validate()
        _require_keys(self.message_id, self.conversation_id)
        if not isinstance(self.reply.get("text"), str):
            raise SchemaError("reply has no text")


# Per event class: the optional fields to_dict leaves out while they are None.
_OPTIONAL_NONE: dict[type, frozenset[str]] = {
    cls: frozenset(f.name for f in dataclasses.fields(cls) if f.default is None)
    for cls in (UtteranceEvent, ReplyTarget)
}
