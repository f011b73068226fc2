"""``GET /v1/replies/{message_id}?wait=N``: the caller who posted an utterance reads its reply.

For a webhook caller, who cannot read the reply store without Firebase
credentials. The reply is read from ``decisions/{message_id}``: the scorer
creates it once, before it writes the reply store, with the same reply in
it, so the endpoint serves both reply stores (Firestore and RTDB) alike.
The decision also records who posted (``caller``: ``webhook``,
``user:<uid>`` or ``anonymous``, shared/auth.py ``Caller.key``); another
caller gets 403, as for feedback.

``wait`` (whole seconds, capped at ``MAX_WAIT_S``, below ingress's 30 s
timeout) holds the request open until the reply exists, polling the
decision with growing intervals: one document read per poll (about 27 for a
whole 25 s), nothing kept open between requests. After the wait: 404.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Callable, Mapping

from shared import ids
from shared.auth import Caller
from shared.delivery import reply_document
from shared.errors import ApiError
from shared.events import UtteranceEvent

MAX_WAIT_S = 25
WAIT_PATTERN = re.compile(r"[0-9]{1,3}")
# Seconds between reads while waiting; the last one repeats.
POLL_INTERVALS_S = (0.1, 0.2, 0.4, 0.8, 1.0)
QUERY_PARAMETERS = frozenset({"wait"})
# The decision's fields the endpoint reads.


def decision_fields(event: UtteranceEvent) -> dict:
    """What the scorer stores with a decision for this endpoint: who posted."""
    return {"caller": event.caller} if event.caller else {}


def parse_wait(value: str | None) -> int:
    if value is None:
        return 0
    if not WAIT_PATTERN.fullmatch(value):
        raise ApiError("invalid_argument", f"wait must be whole seconds, 0-{MAX_WAIT_S}")
    return min(int(value), MAX_WAIT_S)


class ReplyReader:
    def __init__(
        self,
        read: Callable[[str], dict | None],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.read = read
        self.clock = clock
        self.sleep = sleep

    def get(self, params: Mapping[str, str], caller: Caller | None) -> dict:
        unknown = sorted(set(params) - QUERY_PARAMETERS - {"message_id"})
        if unknown:
            raise ApiError("unknown_field", f"unknown query parameter(s): {', '.join(unknown)[:200]}")
        message_id = params.get("message_id", "")
        if not ids.is_valid_message_id(message_id):
            raise ApiError("invalid_argument", "message_id must be a message id (a ULID of 26 characters)")
        wait = parse_wait(params.get("wait"))
        deadline = self.clock() + wait
        for attempt in itertools.count():
            decision = self._read(message_id)
            if decision is not None:
                return self._answer(message_id, decision, caller)
            left = deadline - self.clock()
            if left <= 0:
                break
            self.sleep(min(POLL_INTERVALS_S[min(attempt, len(POLL_INTERVALS_S) - 1)], left))
        raise ApiError("not_found", f"no reply to {message_id} yet" + (f" after {wait} s" if wait else "") + ": try again with ?wait=N")

    def _read(self, message_id: str) -> dict | None:
        try:
            return self.read(message_id)
        except Exception as exc:
            raise ApiError("unavailable", f"could not look the reply up, try again ({type(exc).__name__})") from exc

    @staticmethod
    def _answer(message_id: str, decision: dict, caller: Caller | None) -> dict:
        if caller is not None and decision.get("caller") != caller.key:
            raise ApiError("permission_denied", "only the caller who posted the utterance may read its reply")
        log = decision.get("log") or {}
        return reply_document(message_id, log.get("conversation_id", ""), log.get("user_id", ""), decision.get("reply") or {})
