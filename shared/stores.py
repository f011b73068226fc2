"""The Firestore data layer: conversations, candidates, decisions, ledgers.

Layout (collection/document):
- ``conversations/{c}``: its owner (``user_id``, the first speaker), times,
  and ``turns``: its most recent turns, oldest first, each ``{role, text,
  message_id}``, as one JSON string (a Firestore array of maps costs a
  field-by-field encode and decode on every line). One document, read once
  and written once per line: the owner check, the context and the bot's
  earlier replies come from one read.
- ``candidates/{keyword}``: the reply candidates for one topic keyword, in
  ``candidates_json`` as one JSON string, ``[{text, context, source, terms}]``.
- ``decisions/{message_id}``: the scorer's decision, created once; a
  redelivered event replays it instead of deciding again.
- ``router/stats``: each algorithm's rewards, for the Thompson router.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Mapping, NamedTuple, Sequence, TypeVar

from cachetools import LRUCache, TTLCache
from google.api_core import exceptions, retry

from shared.bandit import ArmStats
from shared.ranking import Candidate
from shared.text import keyword_doc_id

log = logging.getLogger(__name__)

# Given to every query stream. With the default, google-cloud-firestore turns
# a retryable error midway through a stream into AttributeError '_retry'
# (googleapis/python-firestore#596) instead of resuming after the last
# document; the errors are RunQuery's default retryable ones.
QUERY_RETRY = retry.Retry(
    predicate=retry.if_exception_type(
        exceptions.DeadlineExceeded, exceptions.InternalServerError, exceptions.ResourceExhausted, exceptions.ServiceUnavailable
    ),
    initial=0.1, maximum=60.0, multiplier=1.3, timeout=60.0,
)
# How long idempotency records are kept (a Firestore TTL policy on expire_at).
LEDGER_RETENTION = dt.timedelta(days=7)


class Turn(NamedTuple):
    role: str  # "user" or "bot"
    text: str
    message_id: str = ""

    def to_dict(self) -> dict:
        return {"role": self.role, "text": self.text, "message_id": self.message_id}


@dataclass(frozen=True)
class Conversation:
    """``conversations/{c}`` as one read found it."""

    owner: str | None  # its first speaker; None: the conversation is new
    turns: tuple[Turn, ...] = ()  # the most recent turns, oldest first
    version: Any = None  # the document's update time: the next write's precondition

    def may_have_answered(self, message_id: str) -> bool:
        """Whether ``message_id`` may already be decided: it is among the kept
        turns, or older than one of them (message ids sort by time). A newer
        one cannot be: its turns would be here, written with its decision."""
        return any(t.message_id >= message_id for t in self.turns)

    def before(self, message_id: str) -> list[Turn]:
        """The kept turns that came before ``message_id``."""
        return [t for t in self.turns if t.message_id < message_id]


class ConversationStore:
    """One document per conversation: its owner and its last ``kept_turns``
    turns, so a line costs one read and one write however long the chat."""

    def __init__(self, db, kept_turns: int = 16) -> None:
        self._db = db
        self.kept_turns = kept_turns

    def _ref(self, conversation_id: str):
        return self._db.collection("conversations").document(conversation_id)

    def owner(self, conversation_id: str) -> str | None:
        """The user the conversation belongs to (its first speaker), or None if it is new."""
        snapshot = self._ref(conversation_id).get(field_paths=["user_id"])
        return snapshot.get("user_id") if snapshot.exists else None

    def read(self, conversation_id: str) -> Conversation:
        snapshot = self._ref(conversation_id).get()
        if not snapshot.exists:
            return Conversation(owner=None)
        data = _fields(snapshot) or {}
        turns = tuple(Turn(t["role"], t["text"], t["message_id"]) for t in json.loads(data.get("turns") or "[]"))
        return Conversation(data.get("user_id"), turns, snapshot.update_time)

    def add_exchange(
        self, batch, conversation_id: str, read: Conversation, user_id: str, message_id: str, user_text: str,
        bot_text: str, at: str,
    ) -> None:
        """Adds the exchange to ``batch`` (committed by the caller, atomically).

        A new conversation (``read.owner`` is None) is *created*: the commit
        fails if it exists (someone else's first line won), so its owner is set
        once and never rewritten. Otherwise the document is rewritten only if
        it is still the version ``read`` saw (the commit fails if another line
        was added meanwhile: no turn is ever lost to a concurrent writer)."""
        turns = [*read.turns, Turn("user", user_text, message_id), Turn("bot", bot_text, message_id)]
        kept = _json([t.to_dict() for t in turns[-self.kept_turns:]] if self.kept_turns > 0 else [])
        ref = self._ref(conversation_id)
        if read.owner is None:
            batch.create(ref, {"user_id": user_id, "created_at": at, "updated_at": at, "turns": kept})
        else:
            batch.update(
                ref, {"updated_at": at, "turns": kept}, option=self._db.write_option(last_update_time=read.version)
            )


class OwnerCache:
    """Conversation owners as ingress checks them: an owner never changes once
    written, so one found is kept for the instance's life (at most ``size``,
    least recently used dropped); a new conversation (None) is asked again."""

    def __init__(self, lookup: Callable[[str], str | None], size: int = 100_000) -> None:
        self._lookup = lookup
        self._known: LRUCache[str, str] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def __call__(self, conversation_id: str) -> str | None:
        with self._lock:
            owner = self._known.get(conversation_id)
        if owner is None:
            owner = self._lookup(conversation_id)
            if owner is not None:
                with self._lock:
                    self._known[conversation_id] = owner
        return owner


def _expire_at(now: dt.datetime | None = None) -> dt.datetime:
    return (now or dt.datetime.now(dt.timezone.utc)) + LEDGER_RETENTION


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _fields(snapshot) -> dict | None:
    """A snapshot's decoded fields, or None if it has none. Not ``to_dict()``:
    that deep-copies them, two thirds of the CPU of loading a keyword's
    candidates; these are only read, into new ``Candidate`` objects."""
    if snapshot is None or not snapshot.exists:
        return None
    decoded = getattr(snapshot, "_data", None)
    return decoded if isinstance(decoded, dict) else snapshot.to_dict()


# A keyword's candidates travel as one JSON string: as an array of maps,
# Firestore encodes and decodes every field of every candidate (4x the CPU
# for the corpus workers writing them, 1.6x for the scorer reading them) and
# indexes each one. Documents written before hold the array in "candidates".
CANDIDATES_FIELD = "candidates_json"
LEGACY_CANDIDATES_FIELD = "candidates"
CANDIDATE_FIELDS = (CANDIDATES_FIELD, LEGACY_CANDIDATES_FIELD)


def encode_candidates(candidates: Sequence[dict]) -> str:
    return _json(list(candidates))


def decode_candidates(fields: dict | None) -> list[dict]:
    """The candidates of a ``candidates/{keyword}`` document's fields, either
    format. A damaged document (not JSON, not a list, entries without a
    text) loses what is damaged, logged: one bad keyword must not fail every
    line that mentions it."""
    if not fields:
        return []
    raw = fields.get(CANDIDATES_FIELD, fields.get(LEGACY_CANDIDATES_FIELD))
    try:
        found = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    except (ValueError, RecursionError):
        found = None
    if found is None and raw is None:
        return []
    entries = found if isinstance(found, list) else []
    usable = [c for c in entries if isinstance(c, dict) and isinstance(c.get("text"), str) and c["text"]]
    if not isinstance(found, list) or len(usable) < len(entries):
        log.error("damaged candidates document: %d usable of %s", len(usable), len(entries) if isinstance(found, list) else "unreadable")
    return usable


class CandidateStore:
    """Candidates per keyword, behind a per-instance TTL cache (the design's
    Memcache): a keyword's document is read at most once per TTL per instance."""

    def __init__(self, db, ttl_s: float = 60.0, max_keywords: int = 4096) -> None:
        self._db = db
        self._cache: TTLCache[str, tuple[Candidate, ...]] = TTLCache(maxsize=max_keywords, ttl=ttl_s)

    def load(self, keywords: Sequence[str]) -> list[Candidate]:
        """Candidates of all ``keywords``, in keyword order, without repeats."""
        missing = [k for k in dict.fromkeys(keywords) if k not in self._cache]
        if missing:
            refs = [self._db.collection("candidates").document(keyword_doc_id(k)) for k in missing]
            found = {snap.id: snap for snap in self._db.get_all(refs, field_paths=list(CANDIDATE_FIELDS))}
            for keyword in missing:
                data = _fields(found.get(keyword_doc_id(keyword)))
                # Absent keywords are cached too, so misses stay cheap.
                self._cache[keyword] = tuple(Candidate.from_dict(c) for c in decode_candidates(data))
        merged: dict[str, Candidate] = {}
        for keyword in keywords:
            for candidate in self._cache.get(keyword, ()):
                merged.setdefault(candidate.text, candidate)
        return list(merged.values())

    def put(self, keyword: str, candidates: Iterable[Candidate], lang: str, batch=None) -> None:
        ref = self._db.collection("candidates").document(keyword_doc_id(keyword))
        doc = {
            "keyword": keyword,
            "lang": lang,
            CANDIDATES_FIELD: encode_candidates([c.to_dict() for c in candidates]),
            "updated_at": dt.datetime.now(dt.timezone.utc),
        }
        if batch is None:
            ref.set(doc)
        else:
            batch.set(ref, doc)
        self._cache.pop(keyword, None)


T = TypeVar("T")


class StaleRead(RuntimeError):
    """The commit failed on a precondition of the writes that went with the
    decision (say, the conversation changed since it was read), and no
    decision is stored: read again and decide again."""


@dataclass(frozen=True)
class Created(Generic[T]):
    """Our decision was created; ``written`` is what the other writes returned."""

    written: T


@dataclass(frozen=True)
class Replayed:
    """A decision was there first (an earlier or concurrent delivery): it stands."""

    stored: dict


class DecisionStore:
    """First decision wins: ``create_or_replay`` creates it, or returns the
    stored one to replay.

    ``decisions/{message_id}``: ``decision`` (the decision as one JSON
    string: encoding its nested log field by field cost the scorer about a
    millisecond of CPU), ``user_id`` (whom it answered: what feedback checks)
    and ``expire_at``."""

    def __init__(self, db) -> None:
        self._db = db

    def ref(self, message_id: str):
        return self._db.collection("decisions").document(message_id)

    def get(self, message_id: str) -> dict | None:
        snapshot = self.ref(message_id).get()
        if not snapshot.exists:
            return None
        data = _fields(snapshot) or {}
        # Decisions stored before issue 15 kept reply and log as fields (gone after 7 days).
        return json.loads(data["decision"]) if "decision" in data else data

    def add_create(self, batch, message_id: str, decision: dict) -> None:
        batch.create(
            self.ref(message_id),
            {
                "decision": _json(decision),
                "user_id": decision["log"]["user_id"],
                "expire_at": _expire_at(),
            },
        )

    def create_or_replay(
        self, message_id: str, decision: dict, writes_with_it: Callable[[Any], T] = lambda batch: None
    ) -> Created[T] | Replayed:
        """Creates ``decisions/{message_id}`` in one atomic commit with what
        ``writes_with_it(batch)`` adds (the conversation's turns, the reply),
        or returns the decision already stored.

        ``Aborted`` (contention, nothing decided elsewhere) and transient
        errors propagate: the delivery is retried. A create that finds the
        document, or a failed precondition of the other writes, replays the
        stored decision if there is one, else raises ``StaleRead``."""
        batch = self._db.batch()
        self.add_create(batch, message_id, decision)
        written = writes_with_it(batch)
        try:
            batch.commit()
        except exceptions.Aborted:
            raise
        except (exceptions.AlreadyExists, exceptions.Conflict, exceptions.FailedPrecondition) as error:
            stored = self.get(message_id)
            if stored is None:
                raise StaleRead(f"decisions/{message_id} not created: {error}") from error
            return Replayed(stored)
        return Created(written)

    def answered_user(self, message_id: str) -> str | None:
        """The user whose line ``message_id`` the scorer answered, or None if it has not (yet).

        Ingress asks it before accepting feedback: only that user may rate the reply."""
        snapshot = self.ref(message_id).get(field_paths=["user_id", "log.user_id"])
        if not snapshot.exists:
            return None
        data = _fields(snapshot) or {}
        return data.get("user_id") or (data.get("log") or {}).get("user_id")


# The published model's pointer (written by jobs/train/publish.py): which
# version the scorer serves, and whether ingress may route to the dual encoder.
MODEL_POINTER_COLLECTION, MODEL_POINTER_DOCUMENT = "models", "current"


def model_pointer_reader(db):
    """A function reading ``models/current``: its document, or None."""

    def read() -> dict | None:
        snapshot = db.collection(MODEL_POINTER_COLLECTION).document(MODEL_POINTER_DOCUMENT).get()
        return snapshot.to_dict() if snapshot.exists else None

    return read


class DeliveryAttempts:
    """Failed deliveries per Pub/Sub message, counted only on the failure path.

    functions-framework drops the push envelope's ``deliveryAttempt``, and the
    Pub/Sub emulator's own dead-lettering from a push subscription crashes its
    push loop (see docs/reliability.md), so the push handler counts failures itself
    and gives up (dead-letters, acknowledges) at the configured attempt."""

    def __init__(self, db, collection: str = "delivery_attempts") -> None:
        self._collection = db.collection(collection)

    def failed(self, key: str) -> int:
        """Record one failed delivery of ``key``; returns the failures so far."""
        from google.cloud import firestore

        ref = self._collection.document(key)
        ref.set({"failures": firestore.Increment(1), "expire_at": _expire_at()}, merge=True)
        return int((ref.get().to_dict() or {}).get("failures", 1))


class SignatureLedger:
    """Webhook signatures already used, kept until their timestamp leaves the window.

    ``first_use`` creates ``webhook_signatures/{digest}`` (create-only): a
    second request with the same signature is a replay. It is let through
    only when it carries the same ``Idempotency-Key`` as the first, so a
    retried request is answered from the idempotency record (and publishes
    nothing new) instead of being refused."""

    def __init__(self, db, collection: str = "webhook_signatures") -> None:
        self._collection = db.collection(collection)

    def first_use(self, digest: str, expire_at: dt.datetime, idempotency_key: str | None) -> bool:
        ref = self._collection.document(digest)
        try:
            ref.create({"expire_at": expire_at, "idempotency_key": idempotency_key or ""})
            return True
        except exceptions.AlreadyExists:
            if not idempotency_key:
                return False
            snapshot = ref.get()
            return snapshot.exists and snapshot.get("idempotency_key") == idempotency_key

    def forget(self, digest: str) -> None:
        self._collection.document(digest).delete()


class IdempotencyKeys:
    """``idempotency_keys/{hash of scope and key}``: the request's body hash and, once
    handled, its answer; created only once (create-only), kept a day (TTL on expire_at)."""

    RETENTION = dt.timedelta(days=1)

    def __init__(self, db, collection: str = "idempotency_keys") -> None:
        self._collection = db.collection(collection)

    def reserve(self, doc_id: str, body_sha256: str, now: dt.datetime | None = None) -> dict | None:
        """Create the record (pending); None if created, else the record that exists."""
        now = now or dt.datetime.now(dt.timezone.utc)
        ref = self._collection.document(doc_id)
        record = {"state": "pending", "body_sha256": body_sha256, "created_at": now, "expire_at": now + self.RETENTION}
        try:
            ref.create(record)
            return None
        except exceptions.AlreadyExists:
            existing = ref.get().to_dict() or {}
            expire_at = existing.get("expire_at")
            if isinstance(expire_at, dt.datetime) and expire_at <= now:  # expired, not yet swept by TTL
                ref.set(record)
                return None
            return existing

    def complete(self, doc_id: str, status: int, response: dict) -> None:
        self._collection.document(doc_id).update({"state": "done", "status": status, "response": response})

    def release(self, doc_id: str) -> None:
        self._collection.document(doc_id).delete()


# ``router/stats``: written by jobs/refresh_router_stats.py, read by the Thompson router.
STATS_DOCUMENT = ("router", "stats")


def stats_from_dict(data: Mapping | None) -> dict[str, ArmStats]:
    arms = (data or {}).get("arms") or {}
    return {
        name: ArmStats(int(values.get("rated", 0)), float(values.get("successes", 0.0)))
        for name, values in arms.items()
        if isinstance(values, Mapping)
    }


def stats_to_dict(stats: Mapping[str, ArmStats]) -> dict:
    return {
        "arms": {name: {"rated": s.rated, "successes": s.successes} for name, s in stats.items()},
        "updated_at": dt.datetime.now(dt.timezone.utc),
    }


class RouterStatsStore:
    """The ``router/stats`` document, read at most once per TTL per instance.

    A failed read keeps the last statistics (or none: uniform priors), so the
    router never fails a request over its statistics."""

    def __init__(self, db, ttl_s: float = 60.0) -> None:
        self._ref = db.collection(STATS_DOCUMENT[0]).document(STATS_DOCUMENT[1])
        self._cache: TTLCache[str, dict[str, ArmStats]] = TTLCache(maxsize=1, ttl=ttl_s)
        self._last: dict[str, ArmStats] = {}
        self._lock = threading.Lock()

    def get(self) -> dict[str, ArmStats]:
        with self._lock:
            cached = self._cache.get("stats")
            if cached is not None:
                return cached
            try:
                snapshot = self._ref.get()
                self._last = stats_from_dict(snapshot.to_dict() if snapshot.exists else None)
            except Exception as error:  # stale statistics beat a failed request
                log.warning("router stats unavailable, keeping the last ones: %s", error)
            self._cache["stats"] = self._last
            return self._last

    def put(self, stats: Mapping[str, ArmStats]) -> None:
        self._ref.set(stats_to_dict(stats))
        with self._lock:
            self._cache.clear()
