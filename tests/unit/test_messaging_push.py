"""Push handling: poison messages are dead-lettered and acked; transient
failures are re-raised so Pub/Sub redelivers."""

from __future__ import annotations

import base64
import json

import pytest

from shared.events import SchemaError, UtteranceEvent
from shared.messaging.publish import dead_letter_attributes, preview
from shared.messaging.push import PushedMessage, PushHandler, decode_push

from .fakes import FakePublisher, load_golden

DEAD = "utterances-dead"


def _envelope(data: bytes, attributes=None, message_id="pubsub-1", attempt=1) -> dict:
    envelope = {
        "message": {
            "data": base64.b64encode(data).decode(),
            "attributes": attributes if attributes is not None else {"message_id": "m-1", "algorithm": "bm25"},
            "messageId": message_id,
            "publishTime": "2024-05-01T12:00:00.000Z",
        },
        "subscription": "projects/zatsudan-local/subscriptions/scorer",
    }
    if attempt is not None:
        envelope["deliveryAttempt"] = attempt
    return envelope


class Recorder:
    """A process() that records what it was given and raises ``error`` if set."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.seen: list[bytes] = []

    def __call__(self, data: bytes) -> None:
        self.seen.append(data)
        if self.error is not None:
            raise self.error


def _handler(process, publisher) -> PushHandler:
    return PushHandler("scorer", process, publisher, DEAD)


# -- decode_push ----------------------------------------------------------------------


def test_decode_push_returns_data_attributes_id_and_delivery_attempt():
    message = decode_push(_envelope(b'{"a": 1}', attempt=3))
    assert message == PushedMessage(
        data=b'{"a": 1}',
        attributes={"message_id": "m-1", "algorithm": "bm25"},
        pubsub_message_id="pubsub-1",
        delivery_attempt=3,
    )


def test_decode_push_accepts_the_snake_case_message_id_and_no_attempt():
    envelope = _envelope(b"x", attempt=None)
    envelope["message"]["message_id"] = envelope["message"].pop("messageId")
    message = decode_push(envelope)
    assert message.pubsub_message_id == "pubsub-1"
    assert message.delivery_attempt is None


def test_decode_push_stringifies_attribute_values_and_tolerates_missing_ones():
    assert decode_push(_envelope(b"x", attributes={"n": 1})).attributes == {"n": "1"}
    envelope = _envelope(b"x")
    del envelope["message"]["attributes"]
    assert decode_push(envelope).attributes == {}


def test_decode_push_of_a_message_without_data_is_empty_bytes():
    envelope = _envelope(b"x")
    del envelope["message"]["data"]
    assert decode_push(envelope).data == b""


@pytest.mark.parametrize(
    "envelope",
    [
        None,
        [],
        "message",
        {},
        {"message": None},
        {"message": "aGk="},
        {"message": {"data": "not base64!"}},
        {"message": {"data": "aGk"}},  # bad padding
        {"message": {"data": 123}},
        {"message": {"data": "aGk=", "attributes": ["a"]}},
    ],
    ids=["none", "list", "string", "no-message", "null-message", "message-string", "bad-base64", "bad-padding",
         "data-int", "attributes-list"],
)
def test_decode_push_of_a_malformed_envelope_is_a_schema_error(envelope):
    with pytest.raises(SchemaError):
        decode_push(envelope)


# -- PushHandler ----------------------------------------------------------------------


def test_a_good_message_is_processed_and_nothing_is_dead_lettered():
    publisher, process = FakePublisher(), Recorder()
    _handler(process, publisher)(_envelope(b'{"ok": true}'))
    assert process.seen == [b'{"ok": true}']
    assert publisher.calls == []


@pytest.mark.parametrize(
    "envelope, reason_contains",
    [
        ({"subscription": "s"}, "no message"),
        ({"message": {"data": "%%%"}}, "base64"),
    ],
    ids=["no-message", "bad-base64"],
)
def test_an_undecodable_envelope_is_dead_lettered_and_not_raised(envelope, reason_contains):
    publisher, process = FakePublisher(), Recorder()
    _handler(process, publisher)(envelope)  # must not raise: Pub/Sub would retry forever
    assert process.seen == []
    assert len(publisher.calls) == 1
    call = publisher.calls[0]
    assert call.topic == DEAD
    assert reason_contains in call.attributes["dead_letter_reason"]
    assert call.attributes["dead_letter_source"] == "scorer"
    assert json.loads(call.data) == envelope  # the whole envelope is kept for inspection


def test_a_schema_error_is_dead_lettered_with_reason_and_original_attributes():
    publisher = FakePublisher()
    process = Recorder(SchemaError("UtteranceEvent: missing field text"))
    _handler(process, publisher)(_envelope(b'{"bad": 1}', attributes={"message_id": "m-9", "algorithm": "tfidf"}))
    assert len(publisher.calls) == 1
    call = publisher.calls[0]
    assert call.topic == DEAD
    assert call.data == b'{"bad": 1}'  # the original payload, unchanged
    assert call.attributes == {
        "message_id": "m-9",
        "algorithm": "tfidf",
        "dead_letter_reason": "UtteranceEvent: missing field text",
        "dead_letter_source": "scorer",
        "original_message_id": "pubsub-1",
    }


def test_a_real_schema_failure_from_the_event_parser_is_dead_lettered():
    publisher = FakePublisher()
    bad = load_golden("utterance-event.json")
    bad["lang"] = "fr"
    handler = _handler(lambda data: UtteranceEvent.from_json(data), publisher)
    handler(_envelope(json.dumps(bad).encode()))
    assert [c.topic for c in publisher.calls] == [DEAD]
    assert "lang" in publisher.calls[0].attributes["dead_letter_reason"]


@pytest.mark.parametrize("error", [RuntimeError("firestore unavailable"), TimeoutError(), KeyError("x")])
def test_a_transient_failure_is_reraised_and_nothing_is_dead_lettered(error):
    publisher = FakePublisher()
    with pytest.raises(type(error)):
        _handler(Recorder(error), publisher)(_envelope(b"{}"))
    assert publisher.calls == []


def test_a_failing_dead_letter_publish_is_raised_so_the_message_is_redelivered():
    publisher = FakePublisher(error=RuntimeError("pubsub down"))
    with pytest.raises(RuntimeError):
        _handler(Recorder(SchemaError("bad")), publisher)(_envelope(b"{}"))


# -- dead-letter attributes and previews ----------------------------------------------


def test_dead_letter_reason_is_truncated_to_1024_characters():
    message = PushedMessage(b"", {}, "", None)
    attributes = dead_letter_attributes("x" * 5000, "log_sink", message.pubsub_message_id, message.attributes)
    assert len(attributes["dead_letter_reason"]) == 1024
    assert "original_message_id" not in attributes  # no id, no attribute


def test_dead_letter_reason_fits_pubsubs_1024_byte_attribute_limit():
    message = PushedMessage(b"", {}, "", None)
    attributes = dead_letter_attributes("unsupported lang " + "猫" * 1000, "scorer", message.pubsub_message_id, message.attributes)
    assert len(attributes["dead_letter_reason"].encode("utf-8")) <= 1024


def test_dead_letter_attributes_do_not_change_the_message():
    message = PushedMessage(b"", {"message_id": "m"}, "p", 1)
    dead_letter_attributes("why", "scorer", message.pubsub_message_id, message.attributes)
    assert message.attributes == {"message_id": "m"}


@pytest.mark.parametrize(
    "data, expected",
    [(b'{"a": 1}', '"{\\"a\\": 1}"'), (b"\xff\xfe", '"\ufffd\ufffd"'), ("猫".encode(), '"猫"')],
)
def test_preview_is_a_json_string_of_the_payload(data, expected):
    assert preview(data) == expected


def test_preview_is_short():
    assert len(json.loads(preview(b"a" * 10_000))) == 200


def test_the_events_trace_is_current_while_it_is_processed_in_a_span_of_its_own():
    from shared import logs

    seen = []
    parent = logs.new_trace()
    handler = _handler(lambda data: seen.append(logs.current_trace()), FakePublisher())
    handler(_envelope(b"{}", attributes={"traceparent": parent.traceparent()}))
    (current,) = seen
    assert current.trace_id == parent.trace_id and current.span_id != parent.span_id
    assert logs.current_trace() is None


class Counter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, key: str) -> int:
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]


@pytest.mark.parametrize("max_attempts", [1, 3, 5])
def test_a_failure_that_never_clears_is_dead_lettered_at_the_last_attempt(max_attempts):
    publisher, counter = FakePublisher(), Counter()
    handler = PushHandler("scorer", Recorder(RuntimeError("down")), publisher, DEAD, counter, max_attempts)
    envelope = _envelope(b"{}", message_id="pubsub-9")
    for _ in range(max_attempts - 1):
        with pytest.raises(RuntimeError):
            handler(envelope)
    handler(envelope)  # the last attempt: acknowledged, dead-lettered
    assert list(counter.counts.values()) == [max_attempts]
    (letter,) = publisher.calls
    assert letter.topic == DEAD
    assert f"gave up after {max_attempts} attempts" in letter.attributes["dead_letter_reason"]


def test_failures_are_counted_per_topic_when_message_ids_coincide():
    """One function (the log sink) serves two topics; a message id is unique only within its topic."""
    publisher, counter = FakePublisher(), Counter()
    selections = PushHandler("log_sink", Recorder(RuntimeError("down")), publisher, "selection-logs-dead", counter, 2)
    feedback = PushHandler("log_sink", Recorder(RuntimeError("down")), publisher, "feedback-dead", counter, 2)
    envelope = _envelope(b"{}", message_id="pubsub-9")
    for handler in (selections, feedback):
        with pytest.raises(RuntimeError):
            handler(envelope)  # the first failure of each: retried, not dead-lettered
    assert publisher.calls == []


def test_the_settings_attempts_match_the_subscriptions_policy():
    from shared.messaging import topology
    from shared import config

    assert config.load({}).max_delivery_attempts == topology.MAX_DELIVERY_ATTEMPTS


# -- answer_failure: classified by control flow ----------------------------------------


def _answer(error, handler, body=b"", path="/"):
    """answer_failure's answer to ``error`` raised while serving ``body`` at ``path``."""
    import flask

    from shared.messaging.push import answer_failure

    app = flask.Flask("push-test")
    with app.test_request_context(path, method="POST", data=body, content_type="application/json"):
        return answer_failure(lambda: handler)(error)


def _raised(function, *args):
    try:
        function(*args)
    except Exception as error:  # noqa: BLE001 - the error handler gets whatever escaped
        return error
    raise AssertionError("nothing raised")


def test_a_failure_inside_the_body_answers_500_whatever_file_raised_it():
    """A deploy bundle has main.py at its root: no ``functions/`` folder in the traceback."""
    from shared.messaging.push import DeliveryFailed, delivery

    def scorer(cloud_event):
        raise RuntimeError("firestore unavailable")

    wrapped = delivery(scorer)
    assert wrapped.__name__ == "scorer"  # functions-framework registers the target by name
    error = _raised(wrapped, {})
    assert isinstance(error, DeliveryFailed) and isinstance(error.__cause__, RuntimeError)
    publisher = FakePublisher()
    body, status, _ = _answer(error, _handler(Recorder(), publisher), b'{"message": {}}', "/projects/p/topics/utterances")
    assert status == 500 and json.loads(body)["error"]["code"] == "internal"
    assert publisher.calls == []  # retried, not dead-lettered


def test_a_failure_inside_the_push_handler_counts_the_attempt_then_answers_500():
    from shared.messaging.push import delivery

    publisher, counter = FakePublisher(), Counter()
    handler = PushHandler("scorer", Recorder(RuntimeError("down")), publisher, DEAD, counter, 5)
    error = _raised(delivery(lambda event: handler(event)), _envelope(b"{}", message_id="pubsub-3"))
    assert _answer(error, handler)[1] == 500
    assert counter.counts == {f"scorer:{DEAD}:pubsub-3": 1}


def test_an_unreadable_body_holding_a_message_is_dead_lettered_and_acknowledged():
    """functions-framework could not make an event of it: it can never succeed,
    and a 400 would be redelivered like a 500. Dead letter, then 2xx."""
    publisher = FakePublisher()
    envelope = {"message": {"data": base64.b64encode(b'{"a": 1}').decode(), "attributes": {"message_id": "m-4"}}}
    error = TypeError("__init__() got an unexpected keyword argument 'message'")
    body, status, _ = _answer(error, _handler(Recorder(), publisher), json.dumps(envelope).encode(),
                              "/projects/p/topics/utterances")  # fmt: skip
    assert 200 <= status < 300
    (letter,) = publisher.calls
    assert letter.topic == DEAD and letter.data == b'{"a": 1}'
    assert "not a readable Pub/Sub push" in letter.attributes["dead_letter_reason"]
    assert letter.attributes["message_id"] == "m-4"


def test_functions_frameworks_own_400_for_a_push_body_is_dead_lettered_too():
    from werkzeug.exceptions import BadRequest

    publisher = FakePublisher()
    envelope = {"message": {"data": "not base64!"}, "subscription": "s"}
    _, status, _ = _answer(BadRequest("parsing CloudEvent failed"), _handler(Recorder(), publisher),
                           json.dumps(envelope).encode(), "/projects/p/topics/utterances")  # fmt: skip
    assert status == 200
    (letter,) = publisher.calls
    assert json.loads(letter.data) == envelope  # undecodable: the whole envelope is kept


@pytest.mark.parametrize(
    "body, path",
    [
        (b"\x80", "/projects/p/topics/utterances"),  # not UTF-8
        (b"[1, 2]", "/projects/p/topics/utterances"),  # JSON, not an object
        (b'{"not": "a push"}', "/projects/p/topics/utterances"),  # no message
        (b'{"message": {"data": "aGk="}}', "/"),  # a message, but no topic named
        (b'{"message": {"data": "aGk="}}', "/projects/p/topics/feedback"),  # a topic the scorer does not serve
    ],
    ids=["not-utf8", "json-list", "no-message", "no-topic", "other-topic"],
)
def test_a_request_with_nothing_to_dead_letter_is_refused_with_400(body, path):
    publisher = FakePublisher()
    answer, status, _ = _answer(ValueError("unreadable"), _handler(Recorder(), publisher), body, path)
    assert status == 400 and json.loads(answer)["error"]["code"] == "invalid_json"
    assert publisher.calls == []


def test_an_unreadable_push_whose_dead_letter_cannot_be_published_answers_500():
    publisher = FakePublisher(error=RuntimeError("pubsub down"))
    _, status, _ = _answer(TypeError("x"), _handler(Recorder(), publisher), b'{"message": {"data": "aGk="}}',
                           "/projects/p/topics/utterances")  # fmt: skip
    assert status == 500  # retried: the dead letter must not be lost


def test_the_log_sinks_push_by_topic_dead_letters_an_unreadable_push_to_its_own_topics_dead_letter():
    from shared.messaging.push import PushByTopic

    publisher = FakePublisher()
    by_topic = PushByTopic(
        {
            "selection-logs": PushHandler("log_sink", Recorder(), publisher, "selection-logs-dead"),
            "feedback": PushHandler("log_sink", Recorder(), publisher, "feedback-dead"),
        },
        default="selection-logs",
    )
    body = b'{"message": {"data": "aGk="}}'
    assert _answer(TypeError("x"), by_topic, body, "/projects/p/topics/feedback")[1] == 200
    assert [c.topic for c in publisher.calls] == ["feedback-dead"]
    assert _answer(TypeError("x"), by_topic, body, "/projects/p/topics/unknown")[1] == 400


def test_http_errors_other_than_400_pass_through_the_push_error_handler():
    from werkzeug.exceptions import MethodNotAllowed, NotFound

    for error in (NotFound(), MethodNotAllowed()):
        assert _answer(error, _handler(Recorder(), FakePublisher())) is error


def test_the_topic_of_a_push_endpoint_path():
    from shared.messaging.push import topic_of

    assert topic_of("/projects/p/topics/selection-logs") == "selection-logs"
    assert topic_of("/scorer/projects/p/topics/utterances") == "utterances"
    assert topic_of("/") is None and topic_of(None) is None


def test_dead_lettering_logs_ids_and_sizes_never_the_user_text(caplog):
    from shared.events import SchemaError as _SchemaError

    secret = "私の住所は東京都千代田区1-1です my password is hunter2"
    payload = json.dumps({"text": secret}).encode()

    def poison(data):
        raise _SchemaError("missing field lang")

    publisher = FakePublisher()
    with caplog.at_level("DEBUG"):
        _handler(poison, publisher)(_envelope(payload))
    assert publisher.calls[0].data == payload  # the dead letter keeps it
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "pubsub-1" in logged and "m-1" in logged and f"{len(payload)} bytes" in logged
    assert "hunter2" not in logged and "東京都" not in logged
