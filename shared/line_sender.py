"""Replies to LINE through line-bot-sdk's Messaging API (the delivery function's ``line`` channel).

While the event's reply token is valid (LINE: about a minute after the
event; ``REPLY_TOKEN_VALID_S`` leaves a margin) the reply uses it (free,
and shown as an answer). After that, or when LINE refuses the token (used
or expired: 400), it is pushed to the user, group or room, with an
``X-Line-Retry-Key`` derived from the message id: LINE accepts one push
per key and answers a repeat with 409, so a redelivered event never pushes
twice. A reply whose answer was lost (timeout) and whose token LINE then
refuses is pushed: the one case where a user may see a reply twice.

``LINE_API_URL`` is LINE's API (https://api.line.me), or the local
stand-in (infra/local/line_server.py).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Callable

from shared import timeutil
from shared.delivery import DeliveryFailed, Undeliverable
from shared.events import ReplyEvent

REPLY_TOKEN_VALID_S = 50.0
MAX_TEXT_CHARS = 5000  # LINE's limit for one text message
# The push's retry key: a UUID the message id always maps to.
RETRY_KEY_NAMESPACE = uuid.UUID("6f1f6a2e-3c55-4c52-9d8e-0f2f7b3f2a10")
# What LINE's answer to a push means besides success.
PUSH_ALREADY_ACCEPTED = 409  # this retry key was accepted before
PUSH_REFUSED = frozenset({400})  # a bad request (an unknown user, say): never deliverable


def retry_key(message_id: str) -> str:
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, message_id))


class LineSender:
    def __init__(
        self, access_token: str | None, api_url: str, timeout_s: float = 5.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.access_token = access_token
        self.api_url = api_url
        self.timeout_s = timeout_s
        self.clock = clock
        self._lock = threading.Lock()
        self._api = None

    def api(self):
        """line-bot-sdk's MessagingApi, made on first use (its pool is shared by threads)."""
        with self._lock:
            if self._api is None:
                from linebot.v3.messaging import ApiClient, Configuration, MessagingApi

                configuration = Configuration(host=self.api_url, access_token=self.access_token)
                self._api = MessagingApi(ApiClient(configuration))
            return self._api

    def __call__(self, event: ReplyEvent) -> None:
        if not self.access_token:
            raise DeliveryFailed("LINE_CHANNEL_ACCESS_TOKEN is not set")
        from linebot.v3.messaging import TextMessage

        messages = [TextMessage(text=event.reply["text"][:MAX_TEXT_CHARS])]
        target = event.reply_to
        if target.reply_token and self._token_valid(target.event_at):
            if self._reply(target.reply_token, messages):
                return
        self._push(target.address, messages, retry_key(event.message_id))

    def _token_valid(self, event_at: str | None) -> bool:
        if not event_at:
            return False
        return self.clock() - timeutil.parse(event_at).timestamp() < REPLY_TOKEN_VALID_S

    def _reply(self, token: str, messages) -> bool:
        """True when replied; False when LINE refused the token (push instead)."""
        from linebot.v3.messaging import ApiException, ReplyMessageRequest

        try:
            self.api().reply_message(ReplyMessageRequest(reply_token=token, messages=messages), _request_timeout=self.timeout_s)
        except ApiException as error:
            if error.status == 400:
                return False
            raise DeliveryFailed(f"LINE reply answered {error.status}") from None
        except Exception as error:
            raise DeliveryFailed(f"LINE reply failed: {type(error).__name__}") from None
        return True

    def _push(self, to: str, messages, key: str) -> None:
        from linebot.v3.messaging import ApiException, PushMessageRequest

        try:
            self.api().push_message(PushMessageRequest(to=to, messages=messages), x_line_retry_key=key, _request_timeout=self.timeout_s)
        except ApiException as error:
            if error.status == PUSH_ALREADY_ACCEPTED:
                return
            if error.status in PUSH_REFUSED:
                raise Undeliverable(f"LINE refused the push ({error.status}): {str(error.body)[:100]}") from None
            raise DeliveryFailed(f"LINE push answered {error.status}") from None
        except Exception as error:
            raise DeliveryFailed(f"LINE push failed: {type(error).__name__}") from None
