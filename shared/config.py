"""Configuration, read from the environment in one place.

Defaults match the local stack (``make up``); production sets the variables
in the deploy step. Nothing else in the code base reads ``os.environ``.

``SETTINGS`` is the one table of settings: each row names its ``Settings``
field, its environment variable, how the value is parsed, its default, which
deployed functions read it and how production sets it. ``Settings`` is built
from it, ``load()`` loops over it, and the Terraform check
(infra/check_terraform.py), the local stack and docs/configuration.md
(infra/settings_doc.py) read it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, make_dataclass
from typing import Any, Callable, Mapping

from shared.messaging import topology

# The dual encoder answers most utterances once a model is published (before
# that, ingress routes to the lexical baselines alone: shared.router.ModelGatedRouter).
DEFAULT_WEIGHTS = "dual_encoder:0.8,tfidf:0.1,bm25:0.1"


@dataclass(frozen=True)
class Topics:
    """The settings' view of the topic table (shared/messaging/topology.py):
    its names, each overridable by an environment variable (``load``) but
    ``corpus_tasks``, whose subscription the corpus jobs take as an option
    (``--subscription``)."""

    utterances: str = topology.UTTERANCES
    selection_logs: str = topology.SELECTION_LOGS
    feedback: str = topology.FEEDBACK
    corpus_tasks: str = topology.CORPUS_TASKS
    train_trials: str = topology.TRAIN_TRIALS
    replies: str = topology.REPLIES

    dead_letter = staticmethod(topology.dead_letter_topic)


# -- how a value is read -------------------------------------------------------


def _flag(value: str) -> bool:
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class Kind:
    """A type of setting: how its text is parsed, and its name in the docs."""

    name: str
    type: Any
    parse: Callable[[str], Any]


TEXT = Kind("text", str, str)
INTEGER = Kind("integer", int, int)
NUMBER = Kind("number", float, float)
FLAG = Kind("true/false", bool, _flag)
LIST = Kind("comma-separated list", tuple[str, ...], lambda value: tuple(_items(value)))
SET = Kind("comma-separated set", frozenset[str], lambda value: frozenset(_items(value)))

# -- who reads a setting, and how production sets it ---------------------------

# Deployed functions by their infra/deploy.py names; a batch job as "job:<name>".
ALL_FUNCTIONS = ("ingress", "scorer", "log-sink", "delivery")
FAULT_READERS = ("scorer", "log-sink", "delivery")
TERRAFORM = "terraform"  # in Terraform's function_env output
SECRET = "secret"  # mounted from Secret Manager (Terraform's function_secrets)


def local(why: str) -> str:
    """``production`` of a setting production never sets, and why."""
    return f"local: {why}"


FAULTS = local("fault injection, tests and make up only (shared/faults.py)")


@dataclass(frozen=True)
class Setting:
    field: str  # the Settings field ("topics.<name>": a field of Settings.topics)
    variable: str
    kind: Kind
    default: Any
    readers: tuple[str, ...]
    meaning: str  # one line for docs/configuration.md
    production: str = TERRAFORM  # TERRAFORM, SECRET, or local("why production never sets it")
    # ``env.get(X) or default``: an empty value means unset. Otherwise an empty
    # value is parsed like any other (a text setting becomes "", a number fails).
    empty_is_unset: bool = False
    # An older variable, read when ``variable`` is unset (production never sets it).
    alias: str | None = None
    # ``make up`` passes it from the caller's environment to the stack's services.
    local_knob: bool = False

    @property
    def variables(self) -> tuple[str, ...]:
        return (self.variable, self.alias) if self.alias else (self.variable,)

    @property
    def local_only(self) -> bool:
        return self.production.startswith("local:")

    def production_of(self, variable: str) -> str:
        """How production sets ``variable`` (the alias: never)."""
        return self.production if variable == self.variable else local(f"legacy alias of {self.variable}")

    def read(self, env: Mapping[str, str]) -> Any:
        for name in self.variables:
            value = env.get(name)
            if value is None or (value == "" and self.empty_is_unset):
                continue
            return self.kind.parse(value)
        return self.default


# Rows in the order of the Settings fields.
SETTINGS: tuple[Setting, ...] = (
    Setting("project", "GOOGLE_CLOUD_PROJECT", TEXT, "zatsudan-local", ALL_FUNCTIONS, "project id", empty_is_unset=True, alias="GCP_PROJECT"),
    Setting(
        "reply_store", "REPLY_STORE", TEXT, "firestore", ("ingress", "scorer"),
        "where replies are written: `firestore` or `rtdb` (production: `rtdb`, docs/architecture.md)",
    ),
    Setting(
        "algorithm_weights", "ALGORITHM_WEIGHTS", TEXT, DEFAULT_WEIGHTS, ("ingress",),
        "router weights, normalised; until a model is published (`models/current`, read through a "
        "`MODEL_POINTER_TTL_S` cache) the algorithms that need none share the traffic in their own proportions",
        local_knob=True,
    ),
    Setting(
        "router_seed", "ROUTER_SEED", INTEGER, None, ("ingress",), "seed the router (tests, reproducible runs)",
        production=local("reproducible routing in tests and benchmarks"), empty_is_unset=True, local_knob=True,
    ),
    Setting("topics.utterances", "UTTERANCES_TOPIC", TEXT, Topics.utterances, ("ingress", "scorer"), "utterances to score"),
    Setting(
        "topics.selection_logs", "SELECTION_LOGS_TOPIC", TEXT, Topics.selection_logs, ("scorer", "log-sink"),
        "selection logs, for the log sink to write to BigQuery",
    ),
    Setting("topics.feedback", "FEEDBACK_TOPIC", TEXT, Topics.feedback, ("ingress", "log-sink"), "feedback on replies"),
    Setting(
        "topics.train_trials", "TRAIN_TRIALS_TOPIC", TEXT, Topics.train_trials, ("job:train",),
        "hyperparameter trials of the dual encoder, leased by the training workers",
    ),
    Setting(
        "topics.replies", "REPLIES_TOPIC", TEXT, Topics.replies, ("scorer", "delivery"),
        "replies to deliver: the scorer publishes one per utterance that asked for delivery "
        "(a `callback_url`, LINE); the delivery function sends it",
    ),
    Setting("bigquery_dataset", "BIGQUERY_DATASET", TEXT, "zatsudan", ("log-sink",), "BigQuery dataset of the logs"),
    Setting("bigquery_table", "BIGQUERY_SELECTIONS_TABLE", TEXT, "selections", ("log-sink",), "log table of selections"),
    Setting(
        "bigquery_emulator_host", "BIGQUERY_EMULATOR_HOST", TEXT, None, ALL_FUNCTIONS,
        "point the BigQuery client at a local BigQuery",
        production=local("the local BigQuery stand-in"), empty_is_unset=True,
    ),
    Setting("context_turns", "CONTEXT_TURNS", INTEGER, 4, ("scorer",), "earlier turns that feed keyword extraction and ranking"),
    Setting("max_keywords", "MAX_KEYWORDS", INTEGER, 4, ("scorer",), "keywords whose candidates are loaded"),
    Setting("candidate_cache_ttl_s", "CANDIDATE_CACHE_TTL_S", NUMBER, 60.0, ("scorer",), "per-instance candidate cache lifetime (seconds)"),
    Setting("candidate_cache_size", "CANDIDATE_CACHE_SIZE", INTEGER, 4096, ("scorer",), "keywords kept in the per-instance candidate cache"),
    Setting("max_text_chars", "MAX_TEXT_CHARS", INTEGER, 1000, ("ingress",), "longest utterance ingress accepts"),
    # firebase_admin itself reads FIREBASE_DATABASE_EMULATOR_HOST and then talks to http://HOST/?ns=<name>.
    Setting(
        "firebase_database_url", "FIREBASE_DATABASE_URL", TEXT, None, ("scorer",),
        "the Realtime Database (`REPLY_STORE=rtdb`); unset: `https://<project>-default-rtdb.firebaseio.com`",
        empty_is_unset=True,
    ),
    Setting(
        "auth_mode", "AUTH_MODE", TEXT, "required", ("ingress",),
        "`required`: signed webhooks or Firebase ID tokens; `off`: anyone (local demo only, warned at start)",
        local_knob=True,
    ),
    Setting(
        "webhook_secret", "WEBHOOK_SECRET", TEXT, None, ("ingress",),
        "shared secret of the webhook signature (`X-Zatsudan-Signature`)",
        production=SECRET, empty_is_unset=True, local_knob=True,
    ),
    Setting("webhook_tolerance_s", "WEBHOOK_TOLERANCE_S", INTEGER, 300, ("ingress",), "how old (or new) a signature's timestamp may be (seconds)"),
    # verify_id_token(check_revoked=...): one Auth backend call per request.
    Setting(
        "check_revoked", "CHECK_REVOKED", FLAG, True, ("ingress",),
        "ID tokens of disabled or signed-out users are refused too (one Auth call per request; "
        "locally the call goes to the stack's Auth emulator)",
        empty_is_unset=True, local_knob=True,
    ),
    Setting("cors_origins", "CORS_ORIGINS", LIST, (), ("ingress",), "browser origins that may post to ingress (the web chat page; `*` for any)"),
    Setting("bigquery_feedback_table", "BIGQUERY_FEEDBACK_TABLE", TEXT, "feedback", ("log-sink",), "log table of feedback"),
    Setting(
        "router", "ROUTER", TEXT, "weighted", ("ingress",),
        "`weighted` (fixed `ALGORITHM_WEIGHTS`) or `thompson` (bandit on the reward statistics in Firestore "
        "`router/stats`, refreshed by a job)",
        local_knob=True,
    ),
    Setting("router_stats_ttl_s", "ROUTER_STATS_TTL_S", NUMBER, 60.0, ("ingress",), "how long ingress caches the Firestore doc `router/stats` (seconds)", local_knob=True),
    Setting("router_min_propensity", "ROUTER_MIN_PROPENSITY", NUMBER, 0.05, ("ingress",), "exploration floor: every algorithm keeps at least this share", local_knob=True),
    Setting(
        "fault_rate", "FAULT_RATE", NUMBER, 0.0, FAULT_READERS,
        "probability that a fault point raises (0: off; see `shared/faults.py`, docs/reliability.md)",
        production=FAULTS, empty_is_unset=True, local_knob=True,
    ),
    Setting("fault_points", "FAULT_POINTS", SET, frozenset(), FAULT_READERS, "the named points that may raise (comma-separated)", production=FAULTS, local_knob=True),
    Setting("fault_match", "FAULT_MATCH", TEXT, "", FAULT_READERS, "faults only for events whose payload contains this text", production=FAULTS, local_knob=True),
    Setting(
        "fault_limit", "FAULT_LIMIT", INTEGER, 0, FAULT_READERS,
        "most faults injected per event key, per process (0: no cap)",
        production=FAULTS, empty_is_unset=True, local_knob=True,
    ),
    Setting(
        "rate_limit_per_minute", "RATE_LIMIT_PER_MINUTE", INTEGER, 0, ("ingress",),
        "per-user requests per minute at ingress, per instance (token bucket), 0: off (production: 60, Terraform's "
        "`rate_limit_per_minute`); above it 429 `rate_limited` with `Retry-After`",
        empty_is_unset=True, local_knob=True,
    ),
    Setting(
        "max_delivery_attempts", "MAX_DELIVERY_ATTEMPTS", INTEGER, topology.MAX_DELIVERY_ATTEMPTS, ("scorer", "log-sink", "delivery"),
        "push deliveries of one message before its handler dead-letters it with the last error (equal to the "
        "subscriptions' `max_delivery_attempts`: production sets both from one Terraform variable)",
        empty_is_unset=True,
    ),
    Setting(
        "model_store", "MODEL_STORE", TEXT, ".run/models", ("scorer", "job:train"),
        "where dual-encoder models are kept: a folder, or `gs://` in the models bucket",
    ),
    Setting("model_pointer_ttl_s", "MODEL_POINTER_TTL_S", NUMBER, 30.0, ("ingress", "scorer"), "how often a reader re-reads `models/current` (seconds)"),
    Setting(
        "callback_secret", "CALLBACK_SECRET", TEXT, None, ("delivery",),
        "Standard Webhooks key (`whsec_<base64>`) callbacks are signed with; receivers verify with it "
        "(production: Secret Manager `callback-signing-key`)",
        production=SECRET, empty_is_unset=True,
    ),
    Setting(
        "callback_timeout_s", "CALLBACK_TIMEOUT_S", NUMBER, 5.0, ("delivery",),
        "how long delivery waits for a callback receiver (or LINE) before the attempt fails and is retried",
        empty_is_unset=True, local_knob=True,
    ),
    Setting(
        "callback_loopback_only", "CALLBACK_LOOPBACK_ONLY", FLAG, False, ("ingress", "delivery"),
        "callbacks go to loopback receivers only, `http` allowed, no host name resolved (`true` in the local stack "
        "and tests); production takes `https` to global addresses only",
        production=local("callbacks to loopback receivers of the local stack and tests"), empty_is_unset=True,
    ),
    Setting(
        "line_channel_secret", "LINE_CHANNEL_SECRET", TEXT, None, ("ingress",),
        "LINE channel secret: ingress checks `X-Line-Signature` with it (production: Secret Manager "
        "`line-channel-secret`); unset, `/v1/channels/line` is 404",
        production=SECRET, empty_is_unset=True,
    ),
    Setting(
        "line_channel_access_token", "LINE_CHANNEL_ACCESS_TOKEN", TEXT, None, ("delivery",),
        "LINE channel access token the delivery function replies and pushes with (Secret Manager "
        "`line-channel-access-token`)",
        production=SECRET, empty_is_unset=True,
    ),
    Setting(
        "line_api_url", "LINE_API_URL", TEXT, "https://api.line.me", ("delivery",),
        "LINE Messaging API (the local stack: its stand-in `infra/local/line_server.py`)",
        empty_is_unset=True,
    ),
)
# Settings whose fields are grouped into one value (Settings.topics: a Topics).
GROUPS = {"topics": Topics}


class _Derived:
    """What Settings computes from its fields."""

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


def _fields() -> list[tuple[str, Any, Any]]:
    """Settings' fields, one per row (a group once, as its own class)."""
    fields: dict[str, tuple[str, Any, Any]] = {}
    for row in SETTINGS:
        group, _, _ = row.field.partition(".")
        if group in GROUPS:
            fields.setdefault(group, (group, GROUPS[group], field(default_factory=GROUPS[group])))
        else:
            type_ = row.kind.type if row.default is not None else row.kind.type | None
            fields[row.field] = (row.field, type_, field(default=row.default))
    return list(fields.values())


Settings = make_dataclass("Settings", _fields(), bases=(_Derived,), frozen=True)
Settings.__module__ = __name__
Settings.__doc__ = "Every setting, as read from the environment (SETTINGS says what each one is)."


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (defaults to ``os.environ``)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    grouped: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}
    for row in SETTINGS:
        group, _, name = row.field.partition(".")
        if name:
            grouped[group][name] = row.read(env)
        else:
            values[row.field] = row.read(env)
    return Settings(**values, **{group: GROUPS[group](**fields) for group, fields in grouped.items()})


def variables() -> dict[str, Setting]:
    """Every environment variable ``load()`` reads, and its row."""
    return {name: row for row in SETTINGS for name in row.variables}
