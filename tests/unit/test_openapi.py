"""infra/openapi.yaml says what ingress accepts: kept true against shared/ingress.py.

Generated bodies (hypothesis) must be accepted by the spec's JSON Schema exactly
when ingress's validation accepts them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from shared import callbacks, config, ids
from shared.errors import STATUS_BY_CODE, ApiError
from shared.events import FEEDBACK_SOURCES, LANGUAGES
from shared.ingress import feedback_rules, utterance_rules, validate, validate_reward

SPEC_PATH = Path(__file__).resolve().parents[2] / "infra" / "openapi.yaml"


@cache
def spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text())


def schema(name: str) -> dict:
    return spec()["components"]["schemas"][name]


def validator(name: str):
    return jsonschema.Draft7Validator(schema(name))


def test_paths_and_methods():
    assert {path: sorted(ops) for path, ops in spec()["paths"].items()} == {
        "/v1/utterances": ["post"], "/v1/feedback": ["post"], "/healthz": ["get"],
        "/v1/replies/{message_id}": ["get"], "/v1/channels/line": ["post"],
    }


def test_error_codes_are_the_error_table():
    assert set(schema("Error")["properties"]["error"]["properties"]["code"]["enum"]) == set(STATUS_BY_CODE)
    statuses = {int(s) for op in ("/v1/utterances", "/v1/feedback") for s in spec()["paths"][op]["post"]["responses"]}
    caller_statuses = {int(status) for code, status in STATUS_BY_CODE.items() if code not in ("internal", "not_found", "method_not_allowed")}
    assert caller_statuses <= statuses


@pytest.mark.parametrize(
    "schema_name, rules",
    [("Utterance", utterance_rules(config.load({}))), ("Feedback", feedback_rules())],
)
def test_string_fields_match_the_rules(schema_name, rules):
    properties = schema(schema_name)["properties"]
    string_fields = {name for name, p in properties.items() if p["type"] == "string"}
    assert string_fields == set(rules)
    for name, rule in rules.items():
        assert properties[name]["maxLength"] == rule.max_chars, name
        assert (name in schema(schema_name)["required"]) == rule.required, name


def test_patterns_and_enums_match_the_code():
    utterance, feedback = schema("Utterance")["properties"], schema("Feedback")["properties"]
    assert utterance["conversation_id"]["pattern"] == f"^{ids.CONVERSATION_ID_PATTERN.pattern}$"
    assert feedback["message_id"]["pattern"] == f"^{ids.MESSAGE_ID_PATTERN.pattern}$"
    assert tuple(utterance["lang"]["enum"]) == LANGUAGES
    assert utterance["callback_url"]["pattern"] == f"^{callbacks.URL_PATTERN.pattern}$"
    assert utterance["callback_url"]["maxLength"] == callbacks.MAX_URL_CHARS
    reply_id = next(p for p in spec()["paths"]["/v1/replies/{message_id}"]["get"]["parameters"] if p["name"] == "message_id")
    assert reply_id["schema"]["pattern"] == f"^{ids.MESSAGE_ID_PATTERN.pattern}$"
    assert tuple(feedback["source"]["enum"]) == FEEDBACK_SOURCES
    assert (feedback["reward"]["minimum"], feedback["reward"]["maximum"]) == (-1, 1)
    from shared import clean_text

    for field in (utterance["user_id"], utterance["text"], feedback["user_id"]):
        assert field["pattern"] == clean_text.PATTERN


# ----- generated bodies: the spec and the code agree on every one -----------
def _field_values(prop: dict):
    if prop.get("type") == "number":
        return st.one_of(st.floats(-2, 2, allow_nan=False), st.integers(-3, 3), st.booleans(), st.text(max_size=3))
    near = [st.text(max_size=prop.get("maxLength", 10) + 2)]
    if "enum" in prop:
        near.append(st.sampled_from(prop["enum"]))
    if "pattern" in prop and prop["pattern"].startswith("^"):
        near.append(st.from_regex(prop["pattern"], fullmatch=True))
    near.append(st.text(min_size=prop.get("maxLength", 10) - 1, max_size=prop.get("maxLength", 10) + 1))
    dirty = st.sampled_from(["", "   ", "\u3000", "a\x00b", "\u202eabc", "\u200b\u200d", "\ufeff", "a\tb\n", "\x85x", "ｈｅｌｌｏ"])
    return st.one_of(*near, dirty, st.integers(), st.none(), st.lists(st.text(), max_size=2))


def bodies(schema_name: str):
    properties = schema(schema_name)["properties"]
    fields = {name: _field_values(p) for name, p in properties.items()}
    known = st.fixed_dictionaries({}, optional=fields)
    extra = st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=4), max_size=1)
    return st.one_of(known, st.builds(lambda a, b: {**a, **b}, known, extra), st.lists(st.integers(), max_size=2), st.text(max_size=3))


def code_accepts(schema_name: str, body) -> bool:
    try:
        if schema_name == "Utterance":
            validate(body, utterance_rules(config.load({})))
        else:
            validate_reward(body)
            validate({k: v for k, v in body.items() if k != "reward"}, feedback_rules())
    except ApiError as error:
        assert error.status == 400
        return False
    return True


@pytest.mark.parametrize("schema_name", ["Utterance", "Feedback"])
@hsettings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_spec_accepts_exactly_what_ingress_accepts(schema_name, data):
    body = data.draw(bodies(schema_name))
    assert validator(schema_name).is_valid(body) == code_accepts(schema_name, body), body
