"""Callback receivers that time out, fail or are slow get each reply exactly once when
they recover (by webhook-id), or the reply is dead-lettered with the reason.

The delivery function runs with a 1 s timeout here; the receiver (127.0.0.1,
tests/e2e/receiver.py) gives each utterance the behaviour its callback URL's
path names (``BEHAVIOURS``), counted per webhook-id. Pub/Sub redelivers a
failed delivery (about every second on the emulator; with 1-10 s backoff in
production) until MAX_DELIVERY_ATTEMPTS, when the handler dead-letters it."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

from shared.messaging import topology
from shared.client import verify_callback
from tests.e2e.receiver import OK, Receiver, Step
from tests.e2e.reliability import services_with
from tests.support import eventually

TIMEOUT_S = 1.0
HANGS = Step(504, delay_s=3 * TIMEOUT_S)  # answers long after the sender gave up
# path -> (the receiver's answer by attempt (the last one repeats), what the receiver sees in the end)
BEHAVIOURS = {
    "/times-out-twice": ([HANGS, HANGS, OK], [504, 504, 200]),
    "/fails-twice": ([Step(500), Step(503), OK], [500, 503, 200]),
    "/slow": ([Step(200, delay_s=0.6 * TIMEOUT_S)], [200]),
    "/down": ([Step(500)], [500] * topology.MAX_DELIVERY_ATTEMPTS),
    "/gone": ([Step(410)], [410]),
}
PER_BEHAVIOUR = 3
NEVER = {"/down": "gave up after 5 attempts", "/gone": "answered 410"}


def send(ingress_url: str, body: dict) -> str:
    response = requests.post(f"{ingress_url}/v1/utterances", json=body, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()["message_id"]


def script(path: str, attempt: int) -> Step:
    answers, _ = BEHAVIOURS[path]
    return answers[min(attempt, len(answers) - 1)]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_failing_receivers_get_each_reply_once_after_recovering_or_a_dead_letter_with_the_reason(stack, pull, unique):
    dead = pull(topology.dead_letter_topic("replies"))
    secret = stack.env()["CALLBACK_SECRET"]
    with services_with(stack, ("delivery",), CALLBACK_TIMEOUT_S=str(TIMEOUT_S)), Receiver(script) as receiver:
        sent = {}  # message id -> behaviour
        for path in BEHAVIOURS:
            for n in range(PER_BEHAVIOUR):
                body = {"user_id": f"{unique}-{n}", "text": f"猫が好きです {path}", "callback_url": receiver.url(path)}
                sent[send(stack.url("ingress"), body)] = path
        expected_dead = sum(1 for path in sent.values() if path in NEVER)
        letters = dead.read(expect=expected_dead, timeout=90)
        done = lambda: all(len(receiver.of(m)) >= len(BEHAVIOURS[p][1]) for m, p in sent.items())  # noqa: E731
        assert eventually(done, timeout=90, interval=0.5), {m: [c.status for c in receiver.of(m)] for m in sent}
        time.sleep(5)  # past several redelivery intervals: nothing more may arrive
        seen = {m: [c.status for c in receiver.of(m)] for m in sent}
        calls = {m: receiver.of(m) for m in sent}

    assert {m: seen[m] for m in sent} == {m: BEHAVIOURS[p][1] for m, p in sent.items()}
    delivered = Counter(m for m, statuses in seen.items() for status in statuses if status == 200)
    assert all(delivered[m] == 1 for m, p in sent.items() if p not in NEVER)
    for message_id, path in sent.items():
        assert len({c.body for c in calls[message_id]}) == 1  # the same document at every attempt
        if path not in NEVER:
            assert verify_callback(secret, calls[message_id][-1].body, calls[message_id][-1].headers)["data"]["message_id"] == message_id
    reasons = {m.attributes["message_id"]: m.attributes["dead_letter_reason"] for m in letters}
    assert set(reasons) == {m for m, p in sent.items() if p in NEVER}
    for message_id, reason in reasons.items():
        assert NEVER[sent[message_id]] in reason, reason
        assert "answered" in reason
