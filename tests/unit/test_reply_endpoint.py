"""GET /v1/replies/{message_id}: the reply for the caller who posted, waiting when asked."""

from __future__ import annotations

import pytest

from shared.auth import Caller
from shared.errors import ApiError
from shared.reply_endpoint import MAX_WAIT_S, ReplyReader

MESSAGE = "01KB0000000000000000000000"
DECISION = {
    "reply": {"text": "猫はかわいい", "algorithm": "bm25", "score": 1.0, "keywords": ["猫"], "message_id": MESSAGE,
              "created_at": "2026-01-02T03:04:05.000Z"},
    "log": {"user_id": "u1", "conversation_id": "c1"},
    "caller": "webhook",
}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def reader(decisions: list, clock: Clock | None = None) -> ReplyReader:
    """Reads return ``decisions`` in turn (the last one repeats)."""
    clock = clock or Clock()
    reads = iter(decisions)
    last = [None]

    def read(message_id):
        last[0] = next(reads, last[0])
        if isinstance(last[0], Exception):
            raise last[0]
        return last[0]

    return ReplyReader(read, clock=lambda: clock.now, sleep=clock.sleep)


def refused(call) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.status, caught.value.code


def test_the_poster_gets_the_reply_document():
    assert reader([DECISION]).get({"message_id": MESSAGE}, Caller("webhook")) == {
        "message_id": MESSAGE, "conversation_id": "c1", "user_id": "u1", "reply": DECISION["reply"],
    }


@pytest.mark.parametrize("caller", [Caller("user", "u1"), Caller("anonymous"), Caller("line")])
def test_any_other_caller_is_refused(caller):
    assert refused(lambda: reader([DECISION]).get({"message_id": MESSAGE}, caller)) == (403, "permission_denied")


def test_a_users_reply_is_theirs_alone():
    mine = {**DECISION, "caller": "user:u1"}
    assert reader([mine]).get({"message_id": MESSAGE}, Caller("user", "u1"))["user_id"] == "u1"
    assert refused(lambda: reader([mine]).get({"message_id": MESSAGE}, Caller("user", "u2")))[0] == 403
    assert refused(lambda: reader([mine]).get({"message_id": MESSAGE}, Caller("webhook")))[0] == 403


def test_waiting_polls_until_the_reply_is_there():
    clock = Clock()
    got = reader([None, None, None, DECISION], clock).get({"message_id": MESSAGE, "wait": "5"}, Caller("webhook"))
    assert got["reply"]["text"] == "猫はかわいい"
    assert clock.sleeps == [0.1, 0.2, 0.4]


def test_no_reply_after_the_wait_is_404_and_the_wait_is_bounded():
    clock = Clock()
    assert refused(lambda: reader([None], clock).get({"message_id": MESSAGE, "wait": "999"}, Caller("webhook"))) == (404, "not_found")
    assert clock.now == pytest.approx(MAX_WAIT_S)
    assert refused(lambda: reader([None]).get({"message_id": MESSAGE}, Caller("webhook"))) == (404, "not_found")


@pytest.mark.parametrize(
    "params, code",
    [({"message_id": "../decisions"}, "invalid_argument"), ({"message_id": "01kb0000000000000000000000"}, "invalid_argument"),
     ({"message_id": "0" * 27}, "invalid_argument"), ({"message_id": MESSAGE, "wait": "-1"}, "invalid_argument"),
     ({"message_id": MESSAGE, "wait": "1.5"}, "invalid_argument"), ({"message_id": MESSAGE, "wait": "1e9"}, "invalid_argument"),
     ({"message_id": MESSAGE, "wait": "9999"}, "invalid_argument"), ({"message_id": MESSAGE, "user": "x"}, "unknown_field")],
)
def test_hostile_ids_and_parameters_are_400(params, code):
    assert refused(lambda: reader([DECISION]).get(params, Caller("webhook"))) == (400, code)


def test_a_failed_lookup_is_503():
    assert refused(lambda: reader([RuntimeError("down")]).get({"message_id": MESSAGE}, Caller("webhook"))) == (503, "unavailable")
