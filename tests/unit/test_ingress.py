"""Ingress: the request body rules, and what one accepted utterance publishes."""

from __future__ import annotations

import pytest

from shared import ids
from shared.config import Settings
from shared.errors import ApiError
from shared.events import UtteranceEvent
from shared.ingress import IngressService, utterance_rules, validate
from shared.replies import reply_path
from shared.router import WeightedRouter

from .fakes import FakePublisher

SETTINGS = Settings()
RULES = utterance_rules(SETTINGS)
OK = {"user_id": "user-1", "text": "猫が好きです"}
_DROP = object()  # "leave this field out"


def _body(**changes) -> dict:
    body = dict(OK)
    for name, value in changes.items():
        if value is _DROP:
            body.pop(name, None)
        else:
            body[name] = value
    return body


INVALID = [
    # (why, body, code)
    ("body is a list", ["user-1", "hi"], "invalid_argument"),
    ("body is a string", "hi", "invalid_argument"),
    ("body is null", None, "invalid_argument"),
    ("missing user_id", _body(user_id=_DROP), "invalid_argument"),
    ("missing text", _body(text=_DROP), "invalid_argument"),
    ("empty object", {}, "invalid_argument"),
    ("empty text", _body(text=""), "invalid_argument"),
    ("whitespace text", _body(text=" \t\n\u3000"), "invalid_argument"),
    ("empty user_id", _body(user_id=""), "invalid_argument"),
    ("text of 1001 chars", _body(text="あ" * 1001), "invalid_argument"),
    ("user_id of 129 chars", _body(user_id="u" * 129), "invalid_argument"),
    ("text is an int", _body(text=42), "invalid_argument"),
    ("text is a list", _body(text=["hi"]), "invalid_argument"),
    ("text is null", _body(text=None), "invalid_argument"),
    ("text is a bool", _body(text=True), "invalid_argument"),
    ("user_id is an int", _body(user_id=7), "invalid_argument"),
    ("conversation_id is null", _body(conversation_id=None), "invalid_argument"),
    ("conversation_id with a slash", _body(conversation_id="a/b"), "invalid_argument"),
    ("conversation_id of 129 chars", _body(conversation_id="c" * 129), "invalid_argument"),
    ("conversation_id empty", _body(conversation_id=""), "invalid_argument"),
    ("conversation_id with a dot", _body(conversation_id="a.b"), "invalid_argument"),
    ("lang fr", _body(lang="fr"), "invalid_argument"),
    ("lang JA uppercase", _body(lang="JA"), "invalid_argument"),
    ("lang too long", _body(lang="jpn"), "invalid_argument"),
    ("lang is an int", _body(lang=1), "invalid_argument"),
    ("unknown field", _body(mood="happy"), "unknown_field"),
    ("unknown field beside a bad one", _body(text=42, mood="happy"), "unknown_field"),
]


@pytest.mark.parametrize("why, body, code", INVALID, ids=[case[0] for case in INVALID])
def test_validate_rejects_bad_bodies_with_the_right_code(why, body, code):
    with pytest.raises(ApiError) as raised:
        validate(body, RULES)
    assert raised.value.code == code
    assert 400 <= raised.value.status < 500


@pytest.mark.parametrize(
    "field, value, named",
    [("user_id", _DROP, "user_id"), ("text", 1, "text"), ("lang", "fr", "lang"), ("conversation_id", "a/b", "conversation_id")],
)
def test_validate_error_message_names_the_field(field, value, named):
    with pytest.raises(ApiError, match=named):
        validate(_body(**{field: value}), RULES)


VALID = [
    ("minimal", OK),
    ("text of exactly 1000 chars", _body(text="あ" * 1000)),
    ("user_id of exactly 128 chars", _body(user_id="u" * 128)),
    ("conversation_id of exactly 128 chars", _body(conversation_id="c" * 128)),
    ("conversation_id with _ and -", _body(conversation_id="conv_1-A")),
    ("lang ja", _body(lang="ja")),
    ("lang en", _body(text="hello", lang="en")),
    ("text with surrounding spaces", _body(text="  hi  ")),
]


@pytest.mark.parametrize("why, body", VALID, ids=[case[0] for case in VALID])
def test_validate_accepts_good_bodies_unchanged(why, body):
    assert validate(body, RULES) == body


def test_max_text_chars_comes_from_settings():
    rules = utterance_rules(Settings(max_text_chars=5))
    assert validate(_body(text="12345"), rules)["text"] == "12345"
    with pytest.raises(ApiError):
        validate(_body(text="123456"), rules)


# -- IngressService -------------------------------------------------------------------


def _service(publisher=None, spec="tfidf:0.25,bm25:0.75", seed=1, settings=SETTINGS) -> IngressService:
    return IngressService(settings, WeightedRouter.from_spec(spec, seed=seed), publisher or FakePublisher())


def test_a_valid_body_publishes_exactly_one_utterance_event():
    publisher = FakePublisher()
    answer = _service(publisher).accept_utterance(_body(conversation_id="conv-1"))

    assert len(publisher.calls) == 1
    call = publisher.calls[0]
    assert call.topic == "utterances"
    assert call.ordering_key == "conv-1"
    event = UtteranceEvent.from_json(call.data)
    assert event.conversation_id == "conv-1"
    assert event.user_id == "user-1"
    assert event.text == "猫が好きです"
    assert event.message_id == answer["message_id"]
    assert event.reply_path == f"replies/conv-1/messages/{event.message_id}"
    assert call.attributes == {"message_id": event.message_id, "algorithm": event.algorithm}


def test_the_answer_tells_the_caller_where_the_reply_will_appear():
    publisher = FakePublisher()
    answer = _service(publisher).accept_utterance(_body(conversation_id="conv-1"))
    event = UtteranceEvent.from_json(publisher.calls[0].data)
    assert answer == {
        "conversation_id": "conv-1",
        "message_id": event.message_id,
        "algorithm": event.algorithm,
        "reply_path": reply_path("firestore", "conv-1", event.message_id),
    }


def test_the_event_carries_the_routers_choice_and_propensity():
    publisher = FakePublisher()
    spec, seed = "tfidf:0.25,bm25:0.75", 99
    service = _service(publisher, spec=spec, seed=seed)
    twin = WeightedRouter.from_spec(spec, seed=seed)  # same seed: same choices
    for _ in range(20):
        service.accept_utterance(OK)
    events = [UtteranceEvent.from_json(c.data) for c in publisher.calls]
    expected = [twin.choose() for _ in range(20)]
    assert [(e.algorithm, e.propensity) for e in events] == [(c.algorithm, c.propensity) for c in expected]
    assert {e.algorithm for e in events} == {"tfidf", "bm25"}


@pytest.mark.parametrize(
    "body, lang",
    [
        (_body(text="猫が好きです"), "ja"),
        (_body(text="I love cats"), "en"),
        (_body(text="I love cats", lang="ja"), "ja"),  # a given lang wins
        (_body(text="猫", lang="en"), "en"),
    ],
)
def test_lang_is_detected_when_absent_and_kept_when_given(body, lang):
    publisher = FakePublisher()
    _service(publisher).accept_utterance(body)
    assert UtteranceEvent.from_json(publisher.calls[0].data).lang == lang


def test_a_conversation_id_is_generated_when_absent():
    publisher = FakePublisher()
    service = _service(publisher)
    first = service.accept_utterance(OK)
    second = service.accept_utterance(OK)
    assert ids.is_valid_conversation_id(first["conversation_id"])
    assert first["conversation_id"] != second["conversation_id"]
    assert publisher.calls[0].ordering_key == first["conversation_id"]


def test_a_given_conversation_id_is_kept_across_utterances():
    publisher = FakePublisher()
    service = _service(publisher)
    answers = [service.accept_utterance(_body(conversation_id="chat-7")) for _ in range(3)]
    assert {a["conversation_id"] for a in answers} == {"chat-7"}
    assert len({a["message_id"] for a in answers}) == 3
    assert [c.ordering_key for c in publisher.calls] == ["chat-7"] * 3


def test_message_ids_of_one_conversation_sort_in_the_order_received():
    service = _service()
    answers = [service.accept_utterance(_body(conversation_id="chat-7")) for _ in range(50)]
    message_ids = [a["message_id"] for a in answers]
    assert sorted(message_ids) == message_ids


def test_received_at_is_an_rfc3339_utc_timestamp():
    publisher = FakePublisher()
    _service(publisher).accept_utterance(OK)
    received_at = UtteranceEvent.from_json(publisher.calls[0].data).received_at
    assert received_at.endswith("Z")
    from shared import timeutil

    assert timeutil.iso(timeutil.parse(received_at)) == received_at


def test_the_topic_comes_from_settings():
    from shared.config import Topics

    publisher = FakePublisher()
    _service(publisher, settings=Settings(topics=Topics(utterances="utterances-test"))).accept_utterance(OK)
    assert publisher.calls[0].topic == "utterances-test"


@pytest.mark.parametrize("why, body, code", INVALID, ids=[case[0] for case in INVALID])
def test_an_invalid_body_publishes_nothing(why, body, code):
    publisher = FakePublisher()
    with pytest.raises(ApiError):
        _service(publisher).accept_utterance(body)
    assert publisher.calls == []


@pytest.mark.parametrize("error", [RuntimeError("boom"), TimeoutError(), ConnectionError("down")])
def test_a_failed_publish_is_unavailable_503(error):
    with pytest.raises(ApiError) as raised:
        _service(FakePublisher(error=error)).accept_utterance(OK)
    assert raised.value.code == "unavailable"
    assert raised.value.status == 503


@pytest.mark.parametrize("field", ["text", "user_id"])
def test_a_lone_surrogate_is_the_callers_error_not_unavailable(field):
    publisher = FakePublisher()
    with pytest.raises(ApiError) as raised:
        _service(publisher).accept_utterance(_body(**{field: "猫\ud800"}))
    assert raised.value.status == 400
    assert publisher.calls == []


def test_a_conversation_id_with_a_trailing_newline_is_rejected():
    with pytest.raises(ApiError):
        validate(_body(conversation_id="chat-7\n"), RULES)
