"""The delivery function: a written reply, sent where its utterance asked.

One ``ReplyEvent`` (topic ``replies``, published by the scorer after the
reply is written) is sent by the channel its ``reply_to`` names:
``callback`` (a signed POST to the caller's URL, below) or ``line``
(shared/line_sender.py). Failures follow the push handler's rule
(shared/messaging/push.py): a transient one (timeout, connection refused, a 5xx or
other non-2xx answer) fails the delivery, Pub/Sub redelivers with backoff and
the handler dead-letters the event with the last error after the configured
attempts; one that can never succeed (a URL that may not be called, 410 Gone)
is dead-lettered at once with its reason.

Once per message id: ``delivery_ledger/{message_id}`` is written after a
success, and a redelivered event finds it and sends nothing. A success whose
ledger write failed is sent again; the receiver de-duplicates by
``webhook-id`` (the message id), as Standard Webhooks asks of receivers.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Callable, Mapping

from shared import callbacks, faults as faults_module, timeutil
from shared.events import ReplyEvent, SchemaError, UtteranceEvent

log = logging.getLogger(__name__)

LEDGER_RETENTION = dt.timedelta(days=7)
CALLBACK_EVENT_TYPE = "reply.created"
# What a receiver's status means: delivered, or never deliverable; anything
# else (3xx: redirects are not followed, 4xx, 5xx) is retried.
DELIVERED = range(200, 300)
GONE = frozenset({410})


class Undeliverable(SchemaError):
    """This reply can never be delivered: dead-lettered with the reason, not retried."""


class DeliveryFailed(RuntimeError):
    """This attempt failed; a later one may succeed (Pub/Sub redelivers)."""


def reply_document(message_id: str, conversation_id: str, user_id: str, reply: Mapping) -> dict:
    """What a caller gets for a reply: the callback's ``data`` and ``GET /v1/replies/{id}``."""
    return {"message_id": message_id, "conversation_id": conversation_id, "user_id": user_id, "reply": dict(reply)}


def reply_event(utterance: UtteranceEvent, reply) -> ReplyEvent:
    """The scorer's event for the delivery function, once ``reply`` (shared.replies.Reply) is written."""
    return ReplyEvent(
        message_id=utterance.message_id,
        conversation_id=utterance.conversation_id,
        user_id=utterance.user_id,
        reply_to=utterance.reply_to,
        reply=reply.to_dict(),
    )


def callback_body(event: ReplyEvent) -> bytes:
    """The same bytes at every attempt (the signature covers them and the attempt's time)."""
    document = {
        "type": CALLBACK_EVENT_TYPE,
        "timestamp": event.reply.get("created_at"),
        "data": reply_document(event.message_id, event.conversation_id, event.user_id, event.reply),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def signature_headers(secret: str, message_id: str, body: bytes, now: dt.datetime) -> dict[str, str]:
    """Standard Webhooks headers: ``webhook-id`` is the message id, so a receiver de-duplicates."""
    from standardwebhooks.webhooks import Webhook

    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body.decode()),
    }


class CallbackChannel:
    def __init__(
        self,
        policy: callbacks.CallbackPolicy,
        secret: str | None,
        timeout_s: float,
        send: Callable[..., callbacks.Answer] = callbacks.post,
        clock: Callable[[], dt.datetime] = timeutil.now,
    ) -> None:
        self.policy = policy
        self.secret = secret
        self.timeout_s = timeout_s
        self.send = send
        self.clock = clock

    def __call__(self, event: ReplyEvent) -> None:
        if not self.secret:
            raise DeliveryFailed("CALLBACK_SECRET is not set: callbacks cannot be signed")
        try:
            target = self.policy.check(event.reply_to.address)  # again: DNS may have changed since ingress
        except callbacks.UnsafeUrl as error:
            raise Undeliverable(str(error)) from None
        except callbacks.Unresolvable as error:
            raise DeliveryFailed(str(error)) from None
        body = callback_body(event)
        headers = {
            "content-type": "application/json",
            "user-agent": "zatsudan-delivery",
            **signature_headers(self.secret, event.message_id, body, self.clock()),
        }
        try:
            answer = self.send(target, body, headers, self.timeout_s)
        except Exception as error:  # timeouts, refused connections, TLS: the receiver may recover
            raise DeliveryFailed(f"callback to {target.host} failed: {type(error).__name__}") from None
        if answer.status in DELIVERED:
            return
        if answer.status in GONE:
            raise Undeliverable(f"the receiver answered {answer.status}: {answer.body[:100]!r}")
        raise DeliveryFailed(f"the receiver answered {answer.status}: {answer.body[:100]!r}")


class DeliveryLedger:
    """``delivery_ledger/{message_id}``: replies delivered (kept a week, TTL on expire_at)."""

    def __init__(self, db, collection: str = "delivery_ledger") -> None:
        self._collection = db.collection(collection)

    def delivered(self, message_id: str) -> bool:
        return self._collection.document(message_id).get().exists

    def mark(self, message_id: str, channel: str) -> None:
        now = timeutil.now()
        self._collection.document(message_id).set({"channel": channel, "delivered_at": now, "expire_at": now + LEDGER_RETENTION})


class DeliveryService:
    def __init__(
        self,
        ledger: DeliveryLedger,
        channels: Mapping[str, Callable[[ReplyEvent], None]],
        faults: faults_module.FaultInjector = faults_module.NO_FAULTS,
    ) -> None:
        self.ledger = ledger
        self.channels = channels
        self.faults = faults

    def handle(self, event: ReplyEvent) -> bool:
        """Sends the reply; False when it had been delivered already."""
        key, channel = event.message_id, event.reply_to.channel
        if self.ledger.delivered(key):
            log.info("reply already delivered by %s: not sent again", channel)
            return False
        send = self.channels.get(channel)
        if send is None:
            raise Undeliverable(f"no {channel} channel is configured here")
        self.faults.point("delivery.before_send", key, key)
        send(event)
        self.ledger.mark(key, channel)
        log.info("reply delivered by %s", channel)
        return True
