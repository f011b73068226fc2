"""Event schemas: golden files round-trip; anything malformed is a SchemaError."""

from __future__ import annotations

import json

import pytest

from shared.events import SCHEMA_VERSION, ReplyEvent, ReplyTarget, SchemaError, ScoredText, SelectionLog, UtteranceEvent
from shared.replies import reply_path

from .fakes import load_golden

DELETE = object()  # "remove this field" in the tables below


def _with(data: dict, field: str, value) -> dict:
    changed = dict(data)
    if value is DELETE:
        del changed[field]
    else:
        changed[field] = value
    return changed


# -- golden files -----------------------------------------------------------------


def test_golden_utterance_event_round_trips_through_from_dict_and_to_dict(utterance_dict):
    event = UtteranceEvent.from_dict(utterance_dict)
    assert event.to_dict() == utterance_dict


def test_golden_selection_log_round_trips_with_nested_scored_texts(selection_dict):
    log = SelectionLog.from_dict(selection_dict)
    assert all(isinstance(c, ScoredText) for c in log.candidates)
    assert log.candidates[0] == ScoredText("猫はかわいいですよね。", 2.11)
    assert log.to_dict() == selection_dict


def test_golden_reply_event_round_trips_with_its_nested_target():
    data = load_golden("reply-event.json")
    event = ReplyEvent.from_dict(data)
    assert event.reply_to == ReplyTarget("callback", "http://127.0.0.1:9/zatsudan")
    assert event.to_dict() == data


def test_an_utterance_asking_for_delivery_round_trips_and_one_without_keeps_its_old_shape(utterance_dict):
    target = {"channel": "line", "address": "U1", "reply_token": "t", "event_at": "2024-05-01T12:00:00.000Z"}
    asking = UtteranceEvent.from_dict({**utterance_dict, "reply_to": target, "caller": "line"})
    assert asking.reply_to == ReplyTarget(**target)
    assert UtteranceEvent.from_json(asking.to_json()) == asking
    assert set(UtteranceEvent.from_dict(utterance_dict).to_dict()) == set(utterance_dict)  # no reply_to: null, caller: null


@pytest.mark.parametrize(
    "target",
    [{"channel": "fax", "address": "x"}, {"channel": "line", "address": ""}, {"channel": "line"},
     {"channel": "line", "address": "U", "event_at": "yesterday"}, {"channel": "line", "address": "U", "extra": 1}, "U1"],
)
def test_a_malformed_reply_target_is_a_schema_error(utterance_dict, target):
    with pytest.raises(SchemaError):
        UtteranceEvent.from_dict({**utterance_dict, "reply_to": target})


@pytest.mark.parametrize(
    "cls, name",
    [(UtteranceEvent, "utterance-event.json"), (SelectionLog, "selection-log.json"), (ReplyEvent, "reply-event.json")],
)
def test_to_json_and_from_json_round_trip_keeping_japanese_readable(cls, name):
    event = cls.from_dict(load_golden(name))
    raw = event.to_json()
    assert isinstance(raw, bytes)
    assert cls.from_json(raw) == event
    assert cls.from_json(raw.decode()) == event
    assert "猫".encode() in raw  # ensure_ascii=False: no \\u escapes


def test_golden_files_describe_the_same_utterance(utterance_dict, selection_dict):
    event = UtteranceEvent.from_dict(utterance_dict)
    log = SelectionLog.from_dict(selection_dict)
    for name in ("message_id", "conversation_id", "user_id", "lang", "algorithm", "propensity", "received_at"):
        assert getattr(log, name) == getattr(event, name)
    assert event.reply_path == reply_path("firestore", event.conversation_id, event.message_id)


def test_schema_version_defaults_to_the_current_one(utterance_dict):
    del utterance_dict["schema_version"]
    assert UtteranceEvent.from_dict(utterance_dict).schema_version == SCHEMA_VERSION


def test_selection_row_is_the_event_dict():
    log = SelectionLog.from_dict(load_golden("selection-log.json"))
    assert log.to_row() == log.to_dict()


# -- UtteranceEvent rejections ---------------------------------------------------

UTTERANCE_REJECTIONS = [
    # (why, field, value)
    ("unknown field", "mood", "happy"),
    ("missing message_id", "message_id", DELETE),
    ("missing text", "text", DELETE),
    ("missing propensity", "propensity", DELETE),
    ("int where str expected", "user_id", 42),
    ("null where str expected", "text", None),
    ("list where str expected", "lang", ["ja"]),
    ("str where float expected", "propensity", "0.5"),
    ("bool where float expected", "propensity", True),
    ("bool where int expected", "schema_version", True),
    ("float where int expected", "schema_version", 1.5),
    ("str where int expected", "schema_version", "1"),
    ("unsupported schema_version", "schema_version", SCHEMA_VERSION + 1),
    ("old schema_version", "schema_version", 0),
    ("unsupported lang", "lang", "fr"),
    ("empty lang", "lang", ""),
    ("empty text", "text", ""),
    ("whitespace-only text", "text", " \t\u3000\n"),
    ("propensity zero", "propensity", 0.0),
    ("propensity negative", "propensity", -0.1),
    ("propensity above one", "propensity", 1.0001),
    ("propensity NaN", "propensity", float("nan")),
]


@pytest.mark.parametrize("why, field, value", UTTERANCE_REJECTIONS, ids=[r[0] for r in UTTERANCE_REJECTIONS])
def test_malformed_utterance_event_is_a_schema_error(utterance_dict, why, field, value):
    with pytest.raises(SchemaError):
        UtteranceEvent.from_dict(_with(utterance_dict, field, value))


@pytest.mark.parametrize(
    "field, value, named",
    [("mood", "x", "mood"), ("user_id", DELETE, "user_id"), ("propensity", "high", "propensity")],
)
def test_schema_error_names_the_offending_field(utterance_dict, field, value, named):
    with pytest.raises(SchemaError, match=named):
        UtteranceEvent.from_dict(_with(utterance_dict, field, value))


@pytest.mark.parametrize("propensity", [1.0, 1, 1e-9])
def test_propensity_bounds_are_open_at_zero_and_closed_at_one(utterance_dict, propensity):
    assert UtteranceEvent.from_dict(_with(utterance_dict, "propensity", propensity)).propensity == propensity


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"", b"{", b"\xff\xfe\x00", "{'single': 'quotes'}", b"[1, 2]", b"null", b'"a string"', b"42"],
    ids=["text", "empty", "truncated", "invalid-utf8", "python-repr", "array", "null", "string", "number"],
)
def test_from_json_of_anything_but_a_json_object_is_a_schema_error(raw):
    with pytest.raises(SchemaError):
        UtteranceEvent.from_json(raw)


def test_schema_error_is_a_value_error():
    # Callers that only know ValueError still treat it as a bad input.
    assert issubclass(SchemaError, ValueError)


def test_deeply_nested_json_is_a_schema_error_not_a_recursion_error():
    with pytest.raises(SchemaError):
        UtteranceEvent.from_json(b"[" * 200_000 + b"]" * 200_000)


# -- SelectionLog rejections -----------------------------------------------------



SELECTION_REJECTIONS = [
    ("unknown field", "extra", 1),
    ("missing candidates", "candidates", DELETE),
    ("missing fallback", "fallback", DELETE),
    ("empty message_id", "message_id", ""),
    ("int where bool expected", "fallback", 0),
    ("str where bool expected", "fallback", "false"),
    ("bool where int expected", "candidate_count", True),
    ("float where int expected", "candidate_count", 3.0),
    ("str where float expected", "reply_score", "2.11"),
    ("bool where float expected", "queue_ms", False),
    ("keywords not a list", "keywords", "猫"),
    ("keyword not a string", "keywords", ["猫", 1]),
    ("candidates not a list", "candidates", {"text": "a", "score": 1.0}),
    ("candidate not an object", "candidates", ["猫はかわいい"]),
    ("candidate missing score", "candidates", [{"text": "a"}]),
    ("candidate score a string", "candidates", [{"text": "a", "score": "1.0"}]),
    ("candidate score a bool", "candidates", [{"text": "a", "score": True}]),
    ("candidate unknown field", "candidates", [{"text": "a", "score": 1.0, "rank": 1}]),
    ("unsupported schema_version", "schema_version", 2),
]


@pytest.mark.parametrize("why, field, value", SELECTION_REJECTIONS, ids=[r[0] for r in SELECTION_REJECTIONS])
def test_malformed_selection_log_is_a_schema_error(selection_dict, why, field, value):
    with pytest.raises(SchemaError):
        SelectionLog.from_dict(_with(selection_dict, field, value))


def test_selection_log_accepts_ints_for_float_fields_as_json_does(selection_dict):
    selection_dict.update(queue_ms=95, rank_ms=0, total_ms=120, reply_score=2, propensity=1)
    selection_dict["candidates"] = [{"text": "a", "score": 3}]
    log = SelectionLog.from_dict(selection_dict)
    assert log.queue_ms == 95 and log.candidates[0].score == 3


def test_selection_log_with_no_candidates_is_valid(selection_dict):
    selection_dict.update(candidates=[], candidate_count=0, keywords=[], fallback=True)
    assert SelectionLog.from_dict(selection_dict).candidates == []


def test_top_n_is_a_class_constant_not_a_field(selection_dict):
    assert SelectionLog.TOP_N == 10
    assert "TOP_N" not in selection_dict
    with pytest.raises(SchemaError):
        SelectionLog.from_dict({**selection_dict, "TOP_N": 3})


# -- BigQuery schema -------------------------------------------------------------

_PY_TYPES = {"STRING": str, "INTEGER": int, "FLOAT": (int, float), "BOOLEAN": bool, "TIMESTAMP": str}


def _bigquery_schema() -> list[dict]:
    from importlib import resources

    return json.loads(resources.files("shared.schemas").joinpath("selections.json").read_text())


def _check_row(row: dict, fields: list[dict]) -> None:
    assert set(row) == {f["name"] for f in fields}
    for f in fields:
        value = row[f["name"]]
        values = value if f.get("mode") == "REPEATED" else [value]
        if f.get("mode") == "REPEATED":
            assert isinstance(value, list), f["name"]
        for item in values:
            if f["type"] == "RECORD":
                _check_row(item, f["fields"])
            else:
                assert isinstance(item, _PY_TYPES[f["type"]]), f["name"]
                if f["type"] in ("INTEGER", "FLOAT"):
                    assert not isinstance(item, bool), f["name"]


def test_selection_row_matches_the_bigquery_table_schema_field_for_field():
    row = SelectionLog.from_dict(load_golden("selection-log.json")).to_row()
    _check_row(row, _bigquery_schema())


def test_every_bigquery_column_is_required_or_repeated_and_filled_by_the_log():
    for f in _bigquery_schema():
        assert f["mode"] in ("REQUIRED", "REPEATED"), f["name"]
