"""One utterance followed through the functions' structured logs: same trace, same message id."""

from __future__ import annotations

import json

import requests

from tests.support import eventually

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
FUNCTIONS = ("ingress", "scorer", "log_sink")


def records_for(stack, function: str, message_id: str) -> list[dict]:
    """The JSON log lines of ``function`` that carry ``message_id`` as a label."""
    records = []
    for line in (stack.logs_dir / f"{function}.log").read_text(errors="replace").splitlines():
        if message_id not in line or not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("logging.googleapis.com/labels", {}).get("message_id") == message_id:
            records.append(record)
    return records


def test_an_utterance_and_its_feedback_share_one_trace_across_ingress_scorer_and_log_sink(stack, unique):
    headers = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
    response = requests.post(
        f"{stack.url('ingress')}/v1/utterances", json={"user_id": unique, "text": "猫が好きです"}, headers=headers, timeout=10
    )
    assert response.status_code == 202
    message_id = response.json()["message_id"]

    found = eventually(lambda: all(records_for(stack, f, message_id) for f in FUNCTIONS) and True, timeout=20)
    assert found, {f: len(records_for(stack, f, message_id)) for f in FUNCTIONS}
    for function in FUNCTIONS:
        for record in records_for(stack, function, message_id):
            assert record["logging.googleapis.com/trace"] == f"projects/{stack.project}/traces/{TRACE_ID}"
            assert record["severity"] in ("INFO", "WARNING", "ERROR")
            # The library's one-off diagnostic entry has a payload instead of a message.
            assert record.get("message") or "logging.googleapis.com/diagnostic" in record


def test_feedback_is_logged_with_the_rated_message_id(stack, clients, unique):
    from shared import ids
    from tests.support import record_answer

    message_id = ids.new_message_id()
    record_answer(clients.firestore, message_id, unique)
    response = requests.post(
        f"{stack.url('ingress')}/v1/feedback",
        json={"message_id": message_id, "reward": 1, "user_id": unique},
        headers={"X-Cloud-Trace-Context": f"{TRACE_ID}/1;o=1"},
        timeout=10,
    )
    assert response.status_code == 202
    assert eventually(lambda: records_for(stack, "log_sink", message_id), timeout=20)
    for function in ("ingress", "log_sink"):
        (record,) = [
            r for r in records_for(stack, function, message_id)
            if r.get("message", "").startswith(("feedback accepted", "row written to"))
        ]
        assert record["logging.googleapis.com/labels"]["feedback_id"] == response.json()["feedback_id"]
        assert record["logging.googleapis.com/trace"].endswith(TRACE_ID)
