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
