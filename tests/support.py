"""Helpers for tests that talk to the emulators."""

from __future__ import annotations

import time
import uuid
from typing import Callable, TypeVar

T = TypeVar("T")


class PullReader:
    """A temporary pull subscription on a topic, read synchronously."""

    def __init__(self, project: str, topic: str, subscription: str | None = None) -> None:
        from google.cloud import pubsub_v1

        self.subscriber = pubsub_v1.SubscriberClient()
        self.path = subscription or self.subscriber.subscription_path(
            project, f"test-{topic}-{uuid.uuid4().hex[:8]}"
        )
        self._owned = subscription is None
        if self._owned:
            self.subscriber.create_subscription(name=self.path, topic=f"projects/{project}/topics/{topic}")

    def read(self, expect: int = 1, timeout: float = 10.0, settle: float = 0.0) -> list:
        """Messages received until ``expect`` arrived (or ``timeout``), then
        ``settle`` seconds more to catch any extra ones. All are acked."""
        received = []
        deadline = time.monotonic() + timeout
        settle_until = None
        while True:
            now = time.monotonic()
            if settle_until is None and (len(received) >= expect or now > deadline):
                settle_until = now + settle
            if settle_until is not None and now >= settle_until:
                return received
            response = self.subscriber.pull(
                request={"subscription": self.path, "max_messages": 100, "return_immediately": True}, timeout=5
            )
            if response.received_messages:
                self.subscriber.acknowledge(
                    request={"subscription": self.path, "ack_ids": [m.ack_id for m in response.received_messages]}
                )
                received.extend(m.message for m in response.received_messages)
            else:
                time.sleep(0.05)

    def close(self) -> None:
        if self._owned:
            try:
                self.subscriber.delete_subscription(subscription=self.path)
            except Exception:
                pass
        self.subscriber.close()


# The tests' stacks answer English from a sample of chitchat-dataset: all of it
# (the default of `make run`) makes every model the tests publish embed
# 370,267 replies instead of 291,541, and each seed write 54,169 documents
# instead of 41,272, past the fixtures' time limits on the 2-core machine.
SEED_SAMPLE = 20000


def seed_corpus(firestore) -> dict[str, int]:
    """The reply corpus on a test stack (``jobs.seed`` with ``SEED_SAMPLE``)."""
    from jobs import seed

    return seed.seed(firestore, sample=SEED_SAMPLE)


def eventually(probe: Callable[[], T], timeout: float = 10.0, interval: float = 0.1) -> T:
    """The first truthy result of ``probe`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def query_rows(bigquery_client, sql: str) -> list[dict]:
    return [dict(row) for row in bigquery_client.query(sql).result()]


def selection_log(conversation_id: str = "c", **changes):
    """A valid selection log (a bm25 reply about 猫 with two candidates);
    ``changes`` override fields. Shared by the log sink tests and bench."""
    import dataclasses

    from shared import ids, timeutil
    from shared.events import ScoredText, SelectionLog

    now = timeutil.iso(timeutil.now())
    log = SelectionLog(
        message_id=ids.new_message_id(),
        conversation_id=conversation_id,
        user_id="tester",
        lang="ja",
        algorithm="bm25",
        propensity=0.5,
        keywords=["猫"],
        candidates=[ScoredText("猫はかわいい", 1.5), ScoredText("こんにちは", 0.0)],
        candidate_count=2,
        reply_text="猫はかわいい",
        reply_score=1.5,
        fallback=False,
        received_at=now,
        replied_at=now,
        queue_ms=50.0,
        rank_ms=0.2,
        total_ms=60.0,
    )
    return dataclasses.replace(log, **changes)


def record_answer(firestore, message_id: str, user_id: str) -> None:
    """Mark ``message_id`` as answered for ``user_id``, as the scorer's
    ``decisions/{message_id}`` records it (ingress accepts feedback on it from that user only)."""
    firestore.collection("decisions").document(message_id).set({"user_id": user_id})


def utterance_event(conversation_id: str = "c", text: str = "猫が好きです", lang: str = "ja", algorithm: str = "bm25",
                    reply_store: str = "firestore", **changes):
    """A valid utterance event as ingress publishes it (user ``tester``, a new
    message id, its reply path in ``reply_store``); ``changes`` override fields."""
    import dataclasses

    from shared import ids, timeutil
    from shared.events import UtteranceEvent
    from shared.replies import reply_path

    message_id = ids.new_message_id()
    event = UtteranceEvent(
        message_id=message_id,
        conversation_id=conversation_id,
        user_id="tester",
        text=text,
        lang=lang,
        algorithm=algorithm,
        propensity=0.5,
        reply_path=reply_path(reply_store, conversation_id, message_id),
        received_at=timeutil.iso(timeutil.now()),
    )
    return dataclasses.replace(event, **changes)


def ingress_with_auth(settings, secret: str, name: str):
    """A Flask test client of ingress with AUTH_MODE=required and ``secret``
    as the webhook key (the caller sets FIREBASE_AUTH_EMULATOR_HOST). Its ID
    tokens are forged for users no Auth emulator knows: CHECK_REVOKED off."""
    import dataclasses

    import flask

    from shared.app import build_ingress
    from shared.clients import Clients

    required = dataclasses.replace(settings, auth_mode="required", webhook_secret=secret, check_revoked=False)
    handler = build_ingress(required, Clients(required))
    app = flask.Flask(name)
    app.add_url_rule("/v1/utterances", view_func=lambda: handler(flask.request), methods=["POST"])
    return app.test_client()
