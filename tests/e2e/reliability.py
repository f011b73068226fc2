"""Helpers for the reliability tests: faulty functions, a load of utterances, the invariants.

The invariants (issue 8): every accepted utterance ends with exactly one reply,
exactly one row in ``selections`` (the raw table, not the de-duplicating
view), and no reply ever changes after it first appeared.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import requests
from google.api_core import exceptions, retry

from tests.support import eventually, query_rows


@contextlib.contextmanager
def services_with(stack, services, *, round_trip: bool = True, **env):
    """Restart ``services`` with ``env`` added; restore them after (checked end
    to end with Firestore replies, unless ``round_trip`` is False)."""
    saved = dict(stack.extra_env)
    stack.extra_env.update(env)
    try:
        for service in services:
            stack.restart(service)
        yield
    finally:
        stack.extra_env.clear()
        stack.extra_env.update(saved)
        for service in services:
            stack.restart(service)
        if round_trip:
            assert_round_trip(stack)


def functions_with(stack, **env):
    """The scorer and log sink restarted with ``env`` (fault settings)."""
    return services_with(stack, ("scorer", "log_sink"), **env)


def restore(stack, services) -> None:
    """Start whichever of ``services`` is not running (a test that killed it
    failed half-way), then check the stack end to end: later tests share it."""
    running = stack.pids()
    for service in services:
        if service not in running:
            stack.restart(service)
    assert_round_trip(stack)


def assert_round_trip(stack, timeout_s: float = 120.0) -> None:
    """One utterance through the whole path: one reply and one selection row."""
    from shared import config
    from shared.clients import Clients

    settings = config.load()
    clients = Clients(settings)
    prefix = f"rt{uuid.uuid4().hex[:12]}"
    (message_id,) = send_utterances(stack.url("ingress"), prefix, 1, conversations=1, workers=1)
    replied = eventually(lambda: reply_docs(clients.firestore, prefix, 1)[message_id] == 1, timeout=timeout_s, interval=0.5)
    assert replied, f"no reply to the round-trip utterance {message_id} after a restart"
    written = eventually(
        lambda: selection_counts(clients, settings, prefix)[message_id] == 1, timeout=timeout_s, interval=2.0
    )
    assert written, f"no selection row for the round-trip utterance {message_id} after a restart"


class ReplyRecorder:
    """Versions of reply documents seen by a collection-group listener.

    Only a witness for "no reply changed": under load the Firestore emulator's
    listen stream can reset and resume past a write (its commit times can
    precede a read time it already reported), so the listener may miss a
    document. Existence is counted from the store itself (``reply_docs``)."""

    def __init__(self, db) -> None:
        self.versions: dict[str, list[dict]] = defaultdict(list)
        self._lock = threading.Lock()
        self._watch = db.collection_group("messages").on_snapshot(self._on_snapshot)

    def _on_snapshot(self, _docs, changes, _read_time) -> None:
        with self._lock:
            for change in changes:
                data = change.document.to_dict()
                if data and "message_id" in data:
                    self.versions[data["message_id"]].append(data)

    def seen(self, message_ids) -> int:
        with self._lock:
            return sum(1 for m in message_ids if self.versions.get(m))

    def changed(self, final: dict[str, dict]) -> list[str]:
        """Message ids with a seen version that differs from the final reply."""
        with self._lock:
            return sorted(m for m, versions in self.versions.items() if m in final and any(v != final[m] for v in versions))

    def close(self) -> None:
        self._watch.unsubscribe()


def send_utterances(ingress_url: str, prefix: str, count: int, conversations: int = 50, workers: int = 8) -> list[str]:
    """POST ``count`` utterances over ``conversations`` conversations; the accepted message ids."""
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=workers))

    def post(number: int):
        conversation = f"{prefix}-c{number % conversations}"
        body = {"user_id": f"{prefix}-u", "text": f"猫が好きです {number}", "conversation_id": conversation}
        response = session.post(f"{ingress_url}/v1/utterances", json=body, timeout=10)
        return response.json()["message_id"] if response.status_code == 202 else None

    with ThreadPoolExecutor(workers) as pool:
        accepted = [m for m in pool.map(post, range(count)) if m]
    return accepted


def selection_counts(clients, settings, prefix: str) -> Counter:
    rows = query_rows(
        clients.bigquery,
        f"SELECT message_id, COUNT(*) AS n FROM `{settings.selections_table_id}` "
        f"WHERE STARTS_WITH(conversation_id, '{prefix}-') GROUP BY message_id",
    )
    return Counter({r["message_id"]: r["n"] for r in rows})


def reply_docs(db, prefix: str, conversations: int) -> Counter:
    return Counter(final_replies(db, prefix, conversations).keys())


def final_replies(db, prefix: str, conversations: int) -> dict[str, dict]:
    """The reply documents of the run's conversations, as they are now, by message id."""
    return {doc.id: doc.to_dict() for c in range(conversations) for doc in _reply_docs(db, f"{prefix}-c{c}")}


# A query the emulator cancels ("Server sendMessage() failed", seen in CI
# when its direct buffers ran out) is read again. The retry is passed to
# stream() itself: with the default, a stream cancelled midway makes
# google-cloud-firestore look up a retry its transport does not have
# (AttributeError '_retry'); with one given, it resumes after the last document.
_READ_AGAIN = retry.Retry(
    predicate=retry.if_exception_type(exceptions.Cancelled, exceptions.ServiceUnavailable, exceptions.DeadlineExceeded),
    initial=0.5, maximum=5.0, timeout=120.0,
)


@_READ_AGAIN
def _reply_docs(db, conversation_id: str) -> list:
    return list(db.collection("replies").document(conversation_id).collection("messages").stream(retry=_READ_AGAIN))


def check_invariants(clients, settings, recorder, accepted, prefix, conversations, timeout_s):
    """Wait until every accepted utterance has its reply and row, then check exactly-once."""
    accepted_set = set(accepted)
    eventually(
        lambda: set(final_replies(clients.firestore, prefix, conversations)) >= accepted_set,
        timeout=timeout_s,
        interval=2.0,
    )
    eventually(
        lambda: set(selection_counts(clients, settings, prefix)) >= accepted_set, timeout=timeout_s, interval=3.0
    )
    final = final_replies(clients.firestore, prefix, conversations)
    replies = Counter(final.keys())
    rows = selection_counts(clients, settings, prefix)
    print(f"\nthe reply listener saw {recorder.seen(accepted)} of {len(accepted)} replies")
    return {
        "accepted": len(accepted),
        "replies": sum(replies.values()),
        "replied_once": sum(1 for m in accepted if replies.get(m) == 1),
        "rows": sum(rows.values()),
        "row_once": sum(1 for m in accepted if rows.get(m) == 1),
        "strangers": sorted((set(replies) | set(rows)) - accepted_set),
        "changed": recorder.changed(final),
    }
