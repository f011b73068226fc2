"""``POST /v1/channels/line``: LINE Messaging API webhook events in, utterances out.

LINE signs each webhook body with the channel secret (``X-Line-Signature``:
base64 HMAC-SHA256); line-bot-sdk's ``WebhookParser`` checks it and reads the
events, and anything unsigned is 401. Each text message becomes an
utterance like any other (routed, published, answered by the scorer), with a
``reply_to`` of channel ``line`` so the delivery function answers on LINE
(shared/line_sender.py). The answer to LINE is 200 at once.

- One conversation per LINE source (``SOURCES``): a user's 1:1 chat, a
  group, a room. In a group or room the source itself is the speaker
  (``user_id``), since a conversation belongs to its first speaker.
- Every event is recorded once by ``webhookEventId`` (``line_events``,
  create-only): a redelivered event (``deliveryContext.isRedelivery``) whose
  first delivery was taken yields no second utterance and no second reply.
  If queueing fails, the record is released and the answer is 503, so LINE's
  redelivery can bring the event again.
- Other events (follow, stickers, images...) are acknowledged and ignored.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Callable, Mapping

from shared import timeutil
from shared.auth import Caller
from shared.errors import ApiError
from shared.events import ReplyTarget

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Line-Signature"
MAX_BODY_BYTES = 256 * 1024  # LINE batches events in one body
EVENT_RETENTION = dt.timedelta(days=7)
EVENT_ID_PATTERN = re.compile(r"[0-9A-Za-z]{1,64}")  # LINE's are ULIDs
# LINE source type -> (its id attribute in line-bot-sdk, our id prefix).
SOURCES = {"user": ("user_id", "u"), "group": ("group_id", "g"), "room": ("room_id", "r")}


class LineEvents:
    """``line_events/{webhookEventId}``: events taken (create-only, kept a week, TTL on expire_at)."""

    def __init__(self, db, collection: str = "line_events") -> None:
        self._collection = db.collection(collection)

    def first_time(self, event_id: str, redelivery: bool) -> bool:
        from google.api_core import exceptions

        now = timeutil.now()
        try:
            self._collection.document(event_id).create({"redelivery": redelivery, "expire_at": now + EVENT_RETENTION})
        except exceptions.AlreadyExists:
            return False
        return True

    def release(self, event_id: str) -> None:
        self._collection.document(event_id).delete()


def source_of(event) -> tuple[str, str, str] | None:
    """(conversation id, speaker's user id, where to push) for a LINE event's source."""
    source = event.source
    kind = getattr(source, "type", None)
    if kind not in SOURCES:
        return None
    attribute, prefix = SOURCES[kind]
    source_id = getattr(source, attribute, None)
    if not source_id:
        return None
    return f"line-{prefix}-{source_id}", f"line:{kind}:{source_id}", source_id


class LineChannel:
    def __init__(
        self,
        channel_secret: str | None,
        accept: Callable[..., dict],
        events: LineEvents,
    ) -> None:
        self.channel_secret = channel_secret
        # IngressService.accept_utterance(body, caller, reply_to=...)
        self.accept = accept
        self.events = events

    def handle(self, headers: Mapping[str, str], raw: bytes) -> dict:
        events = self.parse(headers, raw)
        taken = sum(self._take(event) for event in events)
        return {"events": len(events), "utterances": taken}

    def parse(self, headers: Mapping[str, str], raw: bytes) -> list:
        from linebot.v3.exceptions import InvalidSignatureError
        from linebot.v3.webhook import WebhookParser

        if not self.channel_secret:
            raise ApiError("not_found", "the LINE channel is not configured here (no LINE_CHANNEL_SECRET)")
        signature = headers.get(SIGNATURE_HEADER) or ""
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError("invalid_json", "the body is not valid UTF-8") from None
        try:
            return WebhookParser(self.channel_secret).parse(body, signature)
        except InvalidSignatureError:
            raise ApiError("unauthenticated", f"{SIGNATURE_HEADER} does not match the body") from None
        except Exception as error:  # signed, but not the webhook body line-bot-sdk knows
            raise ApiError("invalid_argument", f"not a LINE webhook body ({type(error).__name__})") from None

    def _take(self, event) -> bool:
        """Queue one text message as an utterance; False for anything else."""
        from linebot.v3.webhooks import MessageEvent, TextMessageContent

        if not isinstance(event, MessageEvent) or not isinstance(event.message, TextMessageContent):
            log.info("LINE event %s ignored", getattr(event, "type", "?"))
            return False
        where = source_of(event)
        event_id = event.webhook_event_id or ""
        if where is None or not EVENT_ID_PATTERN.fullmatch(event_id):
            log.warning("LINE message event without a usable source or event id: ignored")
            return False
        redelivery = bool(event.delivery_context and event.delivery_context.is_redelivery)
        try:
            first = self.events.first_time(event_id, redelivery)
        except Exception as exc:
            raise ApiError("unavailable", f"could not record the LINE event, try again ({type(exc).__name__})") from exc
        if not first:
            log.info("LINE event %s was taken before (redelivery: %s): ignored", event_id, redelivery)
            return False
        conversation_id, user_id, push_to = where
        target = ReplyTarget(
            channel="line",
            address=push_to,
            reply_token=event.reply_token,
            event_at=timeutil.iso(dt.datetime.fromtimestamp(event.timestamp / 1000.0, dt.timezone.utc)),
        )
        body = {"user_id": user_id, "text": event.message.text, "conversation_id": conversation_id}
        try:
            self.accept(body, Caller("line"), reply_to=target)
        except ApiError as error:
            if error.status >= 500:  # not queued: let LINE's redelivery bring it again
                self._release(event_id)
                raise
            log.warning("LINE message refused (%s): %s", error.code, error.message)
            return False
        return True

    def _release(self, event_id: str) -> None:
        try:
            self.events.release(event_id)
        except Exception:
            log.exception("could not release the LINE event %s", event_id)
