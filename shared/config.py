"""Configuration, read from the environment in one place.

Defaults match the local stack (``make up``); production sets the variables
in the deploy step. Nothing else in the code base reads ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

from shared.messaging import topology

# The dual encoder answers most utterances once a model is published (before
# that, ingress routes to the lexical baselines alone: shared.router.ModelGatedRouter).
DEFAULT_WEIGHTS = "dual_encoder:0.8,tfidf:0.1,bm25:0.1"


@dataclass(frozen=True)
class Topics:
    """The settings' view of the topic table (shared/messaging/topology.py):
    its names, each overridable by an environment variable (``load``)."""

    utterances: str = topology.UTTERANCES
    selection_logs: str = topology.SELECTION_LOGS
    feedback: str = topology.FEEDBACK
    corpus_tasks: str = topology.CORPUS_TASKS
    train_trials: str = topology.TRAIN_TRIALS
    replies: str = topology.REPLIES

    dead_letter = staticmethod(topology.dead_letter_topic)


@dataclass(frozen=True)
class Settings:
    project: str = "zatsudan-local"
    reply_store: str = "firestore"
    algorithm_weights: str = DEFAULT_WEIGHTS
    router_seed: int | None = None
    topics: Topics = field(default_factory=Topics)
    bigquery_dataset: str = "zatsudan"
    bigquery_table: str = "selections"
    bigquery_emulator_host: str | None = None
    # Conversation context: how many earlier turns feed keyword extraction.
    context_turns: int = 4
    max_keywords: int = 4
    candidate_cache_ttl_s: float = 60.0
    candidate_cache_size: int = 4096
    max_text_chars: int = 1000
    # Realtime Database (REPLY_STORE=rtdb). firebase_admin itself reads
    # FIREBASE_DATABASE_EMULATOR_HOST and then talks to http://HOST/?ns=<name>.
    firebase_database_url: str | None = None
    # Who may call ingress: "required" (HMAC-signed webhooks or Firebase ID
    # tokens) or "off" (local demo only; ingress warns loudly at start).
    auth_mode: str = "required"
    webhook_secret: str | None = None
    webhook_tolerance_s: int = 300
    # verify_id_token(check_revoked=...): also refuse tokens of disabled or
    # signed-out users (one Auth backend call per request). On by default, as
    # in production; the local stack turns it off (no Auth emulator runs).
    check_revoked: bool = True
    # Origins the browser may post from (the web chat page); "*" for any.
    cors_origins: tuple[str, ...] = ()
    bigquery_feedback_table: str = "feedback"
    # Router: "weighted" (fixed ALGORITHM_WEIGHTS) or "thompson" (bandit on the
    # reward statistics in Firestore router/stats, refreshed by a job).
    router: str = "weighted"
    router_stats_ttl_s: float = 60.0
    router_min_propensity: float = 0.05
    # Fault injection (shared/faults.py): local stack and tests only.
    fault_rate: float = 0.0
    fault_points: frozenset[str] = frozenset()
    fault_match: str = ""
    fault_limit: int = 0
    # Per-user requests per minute at ingress (per instance); 0: no limit.
    rate_limit_per_minute: int = 0
    # Deliveries of one push message before its handler gives up and
    # dead-letters it (equal to the subscriptions' max_delivery_attempts).
    max_delivery_attempts: int = 5
    # Dual-encoder ranker: where models are kept (a folder or gs://), how often
    # a scorer re-reads models/current (the trial queue is topics.train_trials).
    model_store: str = ".run/models"
    model_pointer_ttl_s: float = 30.0
    # Reply delivery (shared/delivery.py): callbacks are signed with this
    # Standard Webhooks key ("whsec_<base64>") and time out after this long.
    callback_secret: str | None = None
    callback_timeout_s: float = 5.0
    # Local only: callbacks go to loopback receivers (http allowed) and no
    # host name is resolved; production takes https to public addresses only.
    callback_loopback_only: bool = False
    # LINE Messaging API channel (shared/line_channel.py, shared/line_sender.py).
    line_channel_secret: str | None = None
    line_channel_access_token: str | None = None
    line_api_url: str = "https://api.line.me"

    @property
    def database_url(self) -> str:
        """The RTDB URL: set explicitly, or the project's default instance."""
        return self.firebase_database_url or f"https://{self.project}-default-rtdb.firebaseio.com"

    @property
    def selections_table_id(self) -> str:
        return f"{self.project}.{self.bigquery_dataset}.{self.bigquery_table}"

    @property
    def feedback_table_id(self) -> str:
        return f"{self.project}.{self.bigquery_dataset}.{self.bigquery_feedback_table}"

    def topic_path(self, topic: str) -> str:
        return f"projects/{self.project}/topics/{topic}"


def _optional_int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def _flag(value: str | None, default: bool) -> bool:
    if value in (None, ""):
        return default
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (defaults to ``os.environ``)."""
    env = os.environ if env is None else env
    project = env.get("GOOGLE_CLOUD_PROJECT") or env.get("GCP_PROJECT") or Settings.project
    return Settings(
        project=project,
        reply_store=env.get("REPLY_STORE", Settings.reply_store),
        algorithm_weights=env.get("ALGORITHM_WEIGHTS", DEFAULT_WEIGHTS),
        router_seed=_optional_int(env.get("ROUTER_SEED")),
        topics=Topics(
            utterances=env.get("UTTERANCES_TOPIC", Topics.utterances),
            selection_logs=env.get("SELECTION_LOGS_TOPIC", Topics.selection_logs),
            feedback=env.get("FEEDBACK_TOPIC", Topics.feedback),
            train_trials=env.get("TRAIN_TRIALS_TOPIC", Topics.train_trials),
            replies=env.get("REPLIES_TOPIC", Topics.replies),
        ),
        bigquery_dataset=env.get("BIGQUERY_DATASET", Settings.bigquery_dataset),
        bigquery_table=env.get("BIGQUERY_SELECTIONS_TABLE", Settings.bigquery_table),
        bigquery_emulator_host=env.get("BIGQUERY_EMULATOR_HOST") or None,
        context_turns=int(env.get("CONTEXT_TURNS", Settings.context_turns)),
        max_keywords=int(env.get("MAX_KEYWORDS", Settings.max_keywords)),
        candidate_cache_ttl_s=float(env.get("CANDIDATE_CACHE_TTL_S", Settings.candidate_cache_ttl_s)),
        candidate_cache_size=int(env.get("CANDIDATE_CACHE_SIZE", Settings.candidate_cache_size)),
        max_text_chars=int(env.get("MAX_TEXT_CHARS", Settings.max_text_chars)),
        firebase_database_url=env.get("FIREBASE_DATABASE_URL") or None,
        auth_mode=env.get("AUTH_MODE", Settings.auth_mode),
        webhook_secret=env.get("WEBHOOK_SECRET") or None,
        webhook_tolerance_s=int(env.get("WEBHOOK_TOLERANCE_S", Settings.webhook_tolerance_s)),
        check_revoked=_flag(env.get("CHECK_REVOKED"), Settings.check_revoked),
        cors_origins=tuple(o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip()),
        bigquery_feedback_table=env.get("BIGQUERY_FEEDBACK_TABLE", Settings.bigquery_feedback_table),
        router=env.get("ROUTER", Settings.router),
        router_stats_ttl_s=float(env.get("ROUTER_STATS_TTL_S", Settings.router_stats_ttl_s)),
        router_min_propensity=float(env.get("ROUTER_MIN_PROPENSITY", Settings.router_min_propensity)),
        fault_rate=float(env.get("FAULT_RATE") or 0.0),
        fault_points=frozenset(p.strip() for p in env.get("FAULT_POINTS", "").split(",") if p.strip()),
        fault_match=env.get("FAULT_MATCH", ""),
        fault_limit=int(env.get("FAULT_LIMIT") or 0),
        rate_limit_per_minute=int(env.get("RATE_LIMIT_PER_MINUTE") or 0),
        max_delivery_attempts=int(env.get("MAX_DELIVERY_ATTEMPTS") or 5),
        model_store=env.get("MODEL_STORE", Settings.model_store),
        model_pointer_ttl_s=float(env.get("MODEL_POINTER_TTL_S", Settings.model_pointer_ttl_s)),
        callback_secret=env.get("CALLBACK_SECRET") or None,
        callback_timeout_s=float(env.get("CALLBACK_TIMEOUT_S") or Settings.callback_timeout_s),
        callback_loopback_only=_flag(env.get("CALLBACK_LOOPBACK_ONLY"), Settings.callback_loopback_only),
        line_channel_secret=env.get("LINE_CHANNEL_SECRET") or None,
        line_channel_access_token=env.get("LINE_CHANNEL_ACCESS_TOKEN") or None,
        line_api_url=env.get("LINE_API_URL") or Settings.line_api_url,
    )
