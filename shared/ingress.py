"""Ingress methods: validate an utterance, route it, publish it, answer.

The HTTP plumbing lives in ``shared/http.py``; this module sees plain dicts.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Callable

from shared import callbacks, clean_text, ids, logs, text, timeutil
from shared.auth import Authenticator, Caller
from shared.config import Settings
from shared.errors import ApiError
from shared.ratelimit import RateLimiter
from shared.events import FEEDBACK_SOURCES, LANGUAGES, FeedbackEvent, ReplyTarget, UtteranceEvent
from shared.replies import reply_path
from shared.router import Router

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldRule:
    required: bool
    max_chars: int
    check: Callable[[str], bool] = lambda value: True
    expected: str = "a string"
    # Free text (shared/clean_text.py): no control characters or bidi
    # overrides, something visible; ``normalize``: NFKC where safe.
    free_text: bool = False
    normalize: bool = False


def utterance_rules(settings: Settings) -> dict[str, FieldRule]:
    """The request body of ``POST /v1/utterances``, as data."""
    return {
        "user_id": FieldRule(required=True, max_chars=128, free_text=True),
        "text": FieldRule(required=True, max_chars=settings.max_text_chars, free_text=True, normalize=True),
        "conversation_id": FieldRule(
            required=False,
            max_chars=128,
            check=ids.is_valid_conversation_id,
            expected="1-128 characters of A-Z a-z 0-9 _ -",
        ),
        "lang": FieldRule(required=False, max_chars=2, check=lambda v: v in LANGUAGES, expected="'ja' or 'en'"),
        # Where the reply is POSTed too (shared/callbacks.py checks where it may go).
        "callback_url": FieldRule(
            required=False, max_chars=callbacks.MAX_URL_CHARS, check=callbacks.is_well_formed, expected="an http(s) URL"
        ),
    }


def feedback_rules() -> dict[str, FieldRule]:
    """The string fields of ``POST /v1/feedback`` (``reward`` is a number, checked apart)."""
    return {
        "message_id": FieldRule(
            required=True, max_chars=26, check=ids.is_valid_message_id, expected="a message id (ULID)"
        ),
        "user_id": FieldRule(required=False, max_chars=128, free_text=True),
        "source": FieldRule(
            required=False, max_chars=16, check=lambda v: v in FEEDBACK_SOURCES, expected="'explicit' or 'continued'"
        ),
    }


def validate_reward(body: Any) -> float:
    if not isinstance(body, dict):
        raise ApiError("invalid_argument", "the body must be a JSON object")
    if "reward" not in body:
        raise ApiError("invalid_argument", "reward is required")
    reward = body["reward"]
    if isinstance(reward, bool) or not isinstance(reward, (int, float)) or not math.isfinite(reward):
        raise ApiError("invalid_argument", "reward must be a number")
    if not -1.0 <= reward <= 1.0:
        raise ApiError("invalid_argument", "reward must be between -1 and 1")
    return float(reward)


def validate(body: Any, rules: dict[str, FieldRule]) -> dict[str, str]:
    if not isinstance(body, dict):
        raise ApiError("invalid_argument", "the body must be a JSON object")
    unknown = sorted(set(body) - set(rules))
    if unknown:
        raise ApiError("unknown_field", f"unknown field(s): {', '.join(unknown)}")
    values: dict[str, str] = {}
    for name, rule in rules.items():
        if name not in body:
            if rule.required:
                raise ApiError("invalid_argument", f"{name} is required")
            continue
        value = body[name]
        if not isinstance(value, str):
            raise ApiError("invalid_argument", f"{name} must be a string")
        if not value.strip():
            raise ApiError("invalid_argument", f"{name} must not be empty")
        if not _is_encodable(value):
            raise ApiError("invalid_argument", f"{name} is not valid Unicode (lone surrogate)")
        if len(value) > rule.max_chars:
            raise ApiError("invalid_argument", f"{name} is longer than {rule.max_chars} characters")
        if not rule.check(value):
            raise ApiError("invalid_argument", f"{name} must be {rule.expected}")
        if rule.free_text:
            why = clean_text.problem(value)
            if why:
                raise ApiError("invalid_argument", f"{name} {why}")
        values[name] = clean_text.normalize(value, rule.max_chars) if rule.normalize else value
    return values


def _is_encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def no_answers(message_id: str) -> str | None:
    """The default answered-user lookup: nothing was answered, so no feedback is accepted."""
    return None


class IngressService:
    def __init__(
        self,
        settings: Settings,
        router: Router,
        publisher,
        limiter: RateLimiter | None = None,
        answered_user: Callable[[str], str | None] = no_answers,
        conversation_owner: Callable[[str], str | None] | None = None,
        callback_policy: callbacks.CallbackPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.router = router
        self.publisher = publisher
        self.limiter = limiter or RateLimiter(settings.rate_limit_per_minute)
        # message_id -> the user the scorer answered (decisions/{m}), or None.
        self.answered_user = answered_user
        # conversation_id -> its owner (conversations/{c}.user_id), or None if new.
        self.conversation_owner = conversation_owner
        self.callback_policy = callback_policy or callbacks.CallbackPolicy(settings.callback_loopback_only)
        self._rules = utterance_rules(settings)
        self._feedback_rules = feedback_rules()

    def accept_utterance(
        self, body: Any, caller: Caller | None = None, reply_to: ReplyTarget | None = None
    ) -> dict[str, str]:
        """``reply_to``: where the reply is delivered (the LINE channel sets it;
        a caller's ``callback_url`` makes one)."""
        request = validate(body, self._rules)
        if caller is not None:
            Authenticator.check_user(caller, request["user_id"])
        self.limiter.check(request["user_id"])
        if "conversation_id" in request:
            self._check_conversation_owner(request["conversation_id"], request["user_id"])
        if "callback_url" in request:
            reply_to = self._callback(request["callback_url"])
        conversation_id = request.get("conversation_id") or ids.new_conversation_id()
        message_id = ids.new_message_id()
        choice = self.router.choose()
        event = UtteranceEvent(
            message_id=message_id,
            conversation_id=conversation_id,
            user_id=request["user_id"],
            text=request["text"],
            lang=request.get("lang") or text.detect_lang(request["text"]),
            algorithm=choice.algorithm,
            propensity=choice.propensity,
            reply_path=reply_path(self.settings.reply_store, conversation_id, message_id),
            received_at=timeutil.iso(timeutil.now()),
            reply_to=reply_to,
            caller=caller.key if caller is not None else None,
        )
        with logs.labels(message_id=message_id):
            log.info("utterance accepted for %s", choice.algorithm)
        try:
            self.publisher.publish(
                self.settings.topics.utterances,
                event.to_json(),
                ordering_key=conversation_id,
                attributes={"message_id": message_id, "algorithm": choice.algorithm},
            )
        except Exception as exc:
            raise ApiError("unavailable", f"could not queue the utterance, try again ({type(exc).__name__})") from exc
        return {
            "conversation_id": conversation_id,
            "message_id": message_id,
            "algorithm": choice.algorithm,
            "reply_path": event.reply_path,
        }

    def _callback(self, url: str) -> ReplyTarget:
        """A callback target, if the URL may be called (SSRF rules: shared/callbacks.py); 400 otherwise."""
        try:
            self.callback_policy.check(url)
        except (callbacks.UnsafeUrl, callbacks.Unresolvable) as error:
            raise ApiError("invalid_argument", str(error)) from None
        return ReplyTarget(channel="callback", address=url)

    def _check_conversation_owner(self, conversation_id: str, user_id: str) -> None:
        """A caller may name a conversation id (a webhook bridging another chat
        service keeps its own), but a conversation belongs to its first speaker:
        a line into someone else's is refused here (403). Two first lines racing
        for a new id are settled by the scorer's create-only write."""
        if self.conversation_owner is None:
            return
        try:
            owner = self.conversation_owner(conversation_id)
        except Exception as exc:
            raise ApiError("unavailable", f"could not look the conversation up, try again ({type(exc).__name__})") from exc
        if owner is not None and owner != user_id:
            raise ApiError("permission_denied", "conversation_id belongs to another user")

    def accept_feedback(self, body: Any, caller: Caller | None = None) -> dict[str, str]:
        """A reward in [-1, 1] for the reply to ``message_id``; one row in ``feedback``.

        A signed-in user rates as themselves (``user_id`` defaults to their uid),
        and only the user the reply answered may rate it: anyone else gets 403
        (and a message not answered yet 404), and nothing is published."""
        reward = validate_reward(body)
        request = validate({k: v for k, v in body.items() if k != "reward"}, self._feedback_rules)
        user_id = request.get("user_id") or (caller.uid if caller is not None and caller.uid else "")
        if caller is not None:
            Authenticator.check_user(caller, user_id)
        self.limiter.check(user_id)
        try:
            answered = self.answered_user(request["message_id"])
        except Exception as exc:
            raise ApiError("unavailable", f"could not look the message up, try again ({type(exc).__name__})") from exc
        if answered is None:
            raise ApiError("not_found", "no reply to rate: message_id is unknown or not answered yet")
        if not user_id or user_id != answered:
            raise ApiError("permission_denied", "only the user the reply answered may rate it")
        event = FeedbackEvent(
            feedback_id=ids.new_message_id(),
            message_id=request["message_id"],
            user_id=user_id,
            reward=reward,
            source=request.get("source", "explicit"),
            given_at=timeutil.iso(timeutil.now()),
        )
        with logs.labels(message_id=event.message_id, feedback_id=event.feedback_id):
            log.info("feedback accepted: %+.2f (%s)", reward, event.source)
        try:
            self.publisher.publish(
                self.settings.topics.feedback,
                event.to_json(),
                attributes={"message_id": event.message_id, "feedback_id": event.feedback_id},
            )
        except Exception as exc:
            raise ApiError("unavailable", f"could not queue the feedback, try again ({type(exc).__name__})") from exc
        return {"feedback_id": event.feedback_id, "message_id": event.message_id}
