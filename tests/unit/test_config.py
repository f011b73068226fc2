"""Settings from the environment, in one place."""

from __future__ import annotations

import pytest

from shared import config
from shared.config import DEFAULT_WEIGHTS, Settings, Topics


def test_an_empty_environment_gives_the_local_defaults():
    settings = config.load({})
    assert settings == Settings()
    assert settings.algorithm_weights == DEFAULT_WEIGHTS
    assert settings.router_seed is None
    assert settings.topics == Topics("utterances", "selection-logs")


def test_variables_override_the_defaults():
    settings = config.load(
        {
            "GOOGLE_CLOUD_PROJECT": "prod",
            "ALGORITHM_WEIGHTS": "bm25:1",
            "ROUTER_SEED": "42",
            "UTTERANCES_TOPIC": "u",
            "SELECTION_LOGS_TOPIC": "s",
            "CONTEXT_TURNS": "2",
            "MAX_KEYWORDS": "3",
            "CANDIDATE_CACHE_TTL_S": "1.5",
            "BIGQUERY_DATASET": "d",
            "BIGQUERY_SELECTIONS_TABLE": "t",
        }
    )
    assert settings.project == "prod"
    assert settings.algorithm_weights == "bm25:1"
    assert settings.router_seed == 42
    assert settings.topics == Topics("u", "s")
    assert (settings.context_turns, settings.max_keywords, settings.candidate_cache_ttl_s) == (2, 3, 1.5)
    assert settings.selections_table_id == "prod.d.t"


@pytest.mark.parametrize(
    "env, project",
    [({"GCP_PROJECT": "legacy"}, "legacy"), ({"GOOGLE_CLOUD_PROJECT": "new", "GCP_PROJECT": "legacy"}, "new")],
)
def test_project_prefers_google_cloud_project(env, project):
    assert config.load(env).project == project


@pytest.mark.parametrize("seed", ["", None])
def test_an_empty_router_seed_means_unseeded(seed):
    env = {} if seed is None else {"ROUTER_SEED": seed}
    assert config.load(env).router_seed is None


def test_dead_letter_topics_and_topic_paths():
    assert Topics.dead_letter("utterances") == "utterances-dead"
    assert Settings(project="p").topic_path("utterances") == "projects/p/topics/utterances"


def test_a_bad_number_fails_at_startup():
    with pytest.raises(ValueError):
        config.load({"CONTEXT_TURNS": "four"})


def test_rtdb_auth_and_cors_settings():
    settings = config.load(
        {"GOOGLE_CLOUD_PROJECT": "p", "REPLY_STORE": "rtdb", "AUTH_MODE": "off", "WEBHOOK_SECRET": "s",
         "CORS_ORIGINS": "http://a, http://b", "FIREBASE_DATABASE_URL": "https://p.firebaseio.com"}
    )
    assert (settings.reply_store, settings.auth_mode, settings.webhook_secret) == ("rtdb", "off", "s")
    assert settings.cors_origins == ("http://a", "http://b")
    assert settings.database_url == "https://p.firebaseio.com"


def test_production_defaults_require_auth_and_use_the_default_rtdb_instance():
    settings = config.load({"GOOGLE_CLOUD_PROJECT": "p"})
    assert settings.auth_mode == "required" and settings.cors_origins == ()
    assert settings.database_url == "https://p-default-rtdb.firebaseio.com"


# -- the settings table ---------------------------------------------------------

# The defaults as load() gave them before it read a table (issue 16): a row's
# default must not drift.
DEFAULTS = {
    "project": "zatsudan-local", "reply_store": "firestore", "algorithm_weights": DEFAULT_WEIGHTS, "router_seed": None,
    "topics": Topics(), "bigquery_dataset": "zatsudan", "bigquery_table": "selections", "bigquery_emulator_host": None,
    "context_turns": 4, "max_keywords": 4, "candidate_cache_ttl_s": 60.0, "candidate_cache_size": 4096,
    "max_text_chars": 1000, "firebase_database_url": None, "auth_mode": "required", "webhook_secret": None,
    "webhook_tolerance_s": 300, "check_revoked": True, "cors_origins": (), "bigquery_feedback_table": "feedback",
    "router": "weighted", "router_stats_ttl_s": 60.0, "router_min_propensity": 0.05, "fault_rate": 0.0,
    "fault_points": frozenset(), "fault_match": "", "fault_limit": 0, "rate_limit_per_minute": 0,
    "max_delivery_attempts": 5, "model_store": ".run/models", "model_pointer_ttl_s": 30.0, "callback_secret": None,
    "callback_timeout_s": 5.0, "callback_loopback_only": False, "line_channel_secret": None,
    "line_channel_access_token": None, "line_api_url": "https://api.line.me",
}  # fmt: skip


def test_the_defaults_are_unchanged():
    settings = config.load({})
    assert {name: getattr(settings, name) for name in Settings.__dataclass_fields__} == DEFAULTS
    assert list(Settings.__dataclass_fields__) == list(DEFAULTS)  # the order too


# An empty value is "unset" where load() read ``env.get(X) or default`` ...
EMPTY_MEANS_DEFAULT = {
    "GOOGLE_CLOUD_PROJECT", "GCP_PROJECT", "ROUTER_SEED", "BIGQUERY_EMULATOR_HOST", "FIREBASE_DATABASE_URL",
    "WEBHOOK_SECRET", "CHECK_REVOKED", "FAULT_RATE", "FAULT_LIMIT", "RATE_LIMIT_PER_MINUTE", "MAX_DELIVERY_ATTEMPTS",
    "CALLBACK_SECRET", "CALLBACK_TIMEOUT_S", "CALLBACK_LOOPBACK_ONLY", "LINE_CHANNEL_SECRET",
    "LINE_CHANNEL_ACCESS_TOKEN", "LINE_API_URL",
    # ... and where an empty list is the default anyway.
    "CORS_ORIGINS", "FAULT_POINTS",
}  # fmt: skip
# ... a value where it read ``env.get(X, default)``: an empty text ...
EMPTY_IS_EMPTY_TEXT = {
    "REPLY_STORE": "reply_store", "ALGORITHM_WEIGHTS": "algorithm_weights", "BIGQUERY_DATASET": "bigquery_dataset",
    "BIGQUERY_SELECTIONS_TABLE": "bigquery_table", "AUTH_MODE": "auth_mode", "ROUTER": "router",
    "BIGQUERY_FEEDBACK_TABLE": "bigquery_feedback_table", "MODEL_STORE": "model_store", "FAULT_MATCH": "fault_match",
    "UTTERANCES_TOPIC": "topics.utterances", "SELECTION_LOGS_TOPIC": "topics.selection_logs",
    "FEEDBACK_TOPIC": "topics.feedback", "TRAIN_TRIALS_TOPIC": "topics.train_trials", "REPLIES_TOPIC": "topics.replies",
}  # fmt: skip
# ... or a number that fails at start.
EMPTY_FAILS = {
    "CONTEXT_TURNS", "MAX_KEYWORDS", "CANDIDATE_CACHE_TTL_S", "CANDIDATE_CACHE_SIZE", "MAX_TEXT_CHARS",
    "WEBHOOK_TOLERANCE_S", "ROUTER_STATS_TTL_S", "ROUTER_MIN_PROPENSITY", "MODEL_POINTER_TTL_S",
}  # fmt: skip


def test_every_variable_has_its_empty_value_rule():
    assert EMPTY_MEANS_DEFAULT | set(EMPTY_IS_EMPTY_TEXT) | EMPTY_FAILS == set(config.variables())


@pytest.mark.parametrize("variable", sorted(EMPTY_MEANS_DEFAULT))
def test_an_empty_value_means_the_default(variable):
    assert config.load({variable: ""}) == Settings()


@pytest.mark.parametrize("variable, field", sorted(EMPTY_IS_EMPTY_TEXT.items()))
def test_an_empty_value_is_an_empty_text(variable, field):
    settings = config.load({variable: ""})
    for part in field.split("."):
        settings = getattr(settings, part)
    assert settings == ""


@pytest.mark.parametrize("variable", sorted(EMPTY_FAILS))
def test_an_empty_number_fails_at_startup(variable):
    with pytest.raises(ValueError):
        config.load({variable: ""})


@pytest.mark.parametrize("variable", ["CHECK_REVOKED", "CALLBACK_LOOPBACK_ONLY"])
def test_flags(variable):
    field = config.variables()[variable].field
    for text, value in [("1", True), ("Yes", True), (" on ", True), ("true", True), ("0", False), ("OFF", False), ("no", False)]:
        assert getattr(config.load({variable: text}), field) is value, text
    with pytest.raises(ValueError, match="expected true or false, got 'maybe'"):
        config.load({variable: "maybe"})


def test_lists_drop_blanks_and_spaces():
    settings = config.load({"CORS_ORIGINS": " http://a ,, http://b ", "FAULT_POINTS": "x, y,x,"})
    assert settings.cors_origins == ("http://a", "http://b")
    assert settings.fault_points == frozenset({"x", "y"})


def test_an_empty_project_falls_back_to_the_older_variable():
    assert config.load({"GOOGLE_CLOUD_PROJECT": "", "GCP_PROJECT": "legacy"}).project == "legacy"


class _Recording(dict):
    def __init__(self):
        super().__init__()
        self.read: list[str] = []

    def get(self, key, default=None):
        self.read.append(key)
        return super().get(key, default)


def test_load_reads_exactly_the_variables_of_the_table():
    env = _Recording()
    config.load(env)
    assert sorted(env.read) == sorted(config.variables())


def test_one_row_per_field_and_per_variable():
    fields = [row.field for row in config.SETTINGS]
    variables = [name for row in config.SETTINGS for name in row.variables]
    assert len(fields) == len(set(fields)) and len(variables) == len(set(variables))
    top = {field.partition(".")[0] for field in fields}
    assert top == set(Settings.__dataclass_fields__)


def test_topic_rows_default_to_the_topics_defaults():
    for row in config.SETTINGS:
        group, _, name = row.field.partition(".")
        if group == "topics":
            assert row.default == getattr(Topics, name)


def test_rows_say_who_reads_them_and_how_production_sets_them():
    for row in config.SETTINGS:
        assert row.readers and row.meaning, row.variable
        assert all(reader in config.ALL_FUNCTIONS or reader.startswith("job:") for reader in row.readers), row.variable
        assert row.production in (config.TERRAFORM, config.SECRET) or row.local_only, row.variable


def test_the_local_stack_passes_through_the_same_knobs_as_before():
    knobs = {row.variable for row in config.SETTINGS if row.local_knob}
    assert knobs == {
        "ALGORITHM_WEIGHTS", "ROUTER_SEED", "AUTH_MODE", "WEBHOOK_SECRET", "ROUTER", "ROUTER_STATS_TTL_S",
        "ROUTER_MIN_PROPENSITY", "CHECK_REVOKED", "FAULT_RATE", "FAULT_POINTS", "FAULT_MATCH", "FAULT_LIMIT",
        "RATE_LIMIT_PER_MINUTE", "CALLBACK_TIMEOUT_S",
    }  # fmt: skip
