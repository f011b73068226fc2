"""Terraform (infra/terraform) against the code, offline: formatting, and
every topic, subscription, table, secret and environment variable the code
uses declared, nothing declared unused (infra/check_terraform.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from infra import check_terraform
from infra.terraform_model import TERRAFORM_DIR

TERRAFORM = shutil.which("terraform")


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed (fmt is its own check)")
def test_terraform_files_are_formatted():
    done = subprocess.run(
        [TERRAFORM, "fmt", "-check", "-recursive", "-list=true", str(TERRAFORM_DIR)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"run `terraform fmt -recursive infra/terraform`; unformatted: {done.stdout}"


def test_terraform_declares_exactly_what_the_code_uses():
    assert check_terraform.problems() == []


def test_config_variables_are_read_from_load():
    names = check_terraform.config_variables()
    assert {"GOOGLE_CLOUD_PROJECT", "UTTERANCES_TOPIC", "BIGQUERY_SELECTIONS_TABLE", "WEBHOOK_SECRET"} <= names
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", name) for name in names)


def _block(kind: str, label: str) -> re.Pattern:
    return re.compile(rf'resource "{kind}" "{label}" \{{.*?\n\}}\n', re.S)


def _remove(kind, label):
    return lambda text: _block(kind, label).sub("", text)


def _replace(old, new):
    return lambda text: text.replace(old, new)


def _append(block):
    return lambda text: text + block


def _entry(key: str) -> re.Pattern:
    """One entry of a locals map: ``key = {...}`` on one line or several."""
    return re.compile(rf"\n    {key} += \{{(?:[^\n]*\}}|.*?\n    \}})\n", re.S)


def _remove_entry(key):
    return lambda text: _entry(key).sub("\n", text, count=1)


def _replace_in_entry(key, old, new):
    return lambda text: _entry(key).sub(lambda m: m.group(0).replace(old, new), text, count=1)


# (file, edit, words the report must contain)
DRIFTS = [
    ("pubsub.tf", _remove_entry("utterances"), "topic 'utterances' is used"),
    ("pubsub.tf", _replace('"${each.value.name}-dead"', '"${each.value.name}-dlq"'), "topic 'selection-logs-dead' is used"),
    ("pubsub.tf", _remove("google_pubsub_subscription", "consumer"), "subscription 'utterances-scorer' is used"),
    ("pubsub.tf", _remove("google_pubsub_subscription", "dead_letters"), "'selection-logs-dead-sub' is used"),
    (
        "pubsub.tf",
        _append('resource "google_pubsub_topic" "spare" {\n  name = "spare"\n}\n'),
        "topic 'spare' is declared in Terraform but the code does not use it",
    ),
    ("pubsub.tf", _replace("ordered      = true", "ordered      = false"), "message ordering"),
    ("pubsub.tf", _replace('"${var.utterances_topic}-scorer"', '"utterances-score"'), "'utterances-score' is declared"),
    ("bigquery.tf", _remove_entry("selections"), "table 'selections' is used"),
    ("bigquery.tf", _replace('"selections_dedup", "feedback_dedup"', '"selections_dedup"'), "view 'feedback_dedup' is used"),
    ("bigquery.tf", _replace("sql/${each.key}.sql", "sql/report.sql"), "view 'selections_dedup': query must be"),
    ("pubsub.tf", _replace_in_entry("feedback", "-sink", "-sinks"), "subscription 'feedback-sink' is used"),
    ("pubsub.tf", _remove_entry("corpus_tasks"), "topic 'corpus-tasks' is used"),
    ("pubsub.tf", _replace_in_entry("train_trials", "ack_deadline = 10", "ack_deadline = 600"), "ack deadline (the lease) is 600"),
    ("bigquery.tf", _remove_entry("posts"), "table 'posts' is used"),
    ("pubsub.tf", _replace_in_entry("feedback", '"log-sink"', '"scorer"'), "subscription 'feedback-sink': push endpoint"),
    ("pubsub.tf", _replace("retry_policy", "retry_policies"), "subscription 'utterances-scorer': minimum backoff"),
    ("pubsub.tf", _replace_in_entry("corpus_tasks", "push_to      = null", 'push_to      = "scorer"'), "push config is True"),
    ("bigquery.tf", _replace("schemas/${each.key}.json", "schemas/selections.json"), "table 'feedback': schema must be file"),
    ("bigquery.tf", _replace('partition = "received_at"', 'partition = "logged_at"'), "partitioned on 'logged_at'"),
    ("bigquery.tf", _replace('clustering = ["algorithm"]', 'clustering = ["lang"]'), "table 'selections': clustered on"),
    ("secrets.tf", _remove("google_secret_manager_secret", "webhook_key"), "secret mounted as 'WEBHOOK_SECRET' in 'ingress' is used"),
    ("outputs.tf", _replace("    MAX_TEXT_CHARS            = tostring(var.max_text_chars)\n", ""), "'MAX_TEXT_CHARS' is used"),
    ("outputs.tf", _replace("      WEBHOOK_SECRET      = ", "      WEBHOOK_TOKEN       = "), "'WEBHOOK_SECRET' is used"),
    ("outputs.tf", _replace("    ingress = {\n      WEBHOOK_SECRET", "    scorer = {\n      WEBHOOK_SECRET"), "must be mounted into 'ingress' only"),
    ("outputs.tf", _replace("      CALLBACK_SECRET ", "      CALLBACK_KEY    "), "'CALLBACK_SECRET' is used"),
    ("pubsub.tf", _remove_entry("replies"), "topic 'replies' is used"),
    ("outputs.tf", _replace("    REPLY_STORE ", "    REPLY_STORES "), "'REPLY_STORES' is declared"),
    ("outputs.tf", _replace('topic["train_trials"].name', 'topic["corpus_tasks"].name'), "setting topics"),
    ("variables.tf", _replace('default     = "dual_encoder:0.8,tfidf:0.1,bm25:0.1"', 'default     = "bm25:1"'), "setting algorithm_weights"),
    (
        "monitoring.tf",
        _replace(": key => subscription.name }", ': key => subscription.name if key != "utterances" }'),
        "no alert on dead-letter subscription 'utterances-dead-sub'",
    ),
    (
        "pubsub.tf",
        _replace(
            "for_each     = google_pubsub_subscription.consumer",
            'for_each     = { for k, s in google_pubsub_subscription.consumer : k => s if k != "feedback" }',
        ),
        "cannot forward dead letters from 'feedback-sink'",
    ),
    (
        "pubsub.tf",
        _replace("member   = local.pubsub_service_agent", "member   = google_service_account.pusher.member"),
        "cannot publish to dead-letter topic 'utterances-dead'",
    ),
    ("firestore.tf", _replace("/../firestore.rules", "/firestore.rules"), "must deploy infra/firestore.rules"),
    ("rtdb.tf", _remove("terraform_data", "rtdb_rules"), "terraform_data.rtdb_rules (deploys infra/database.rules.json) is missing"),
    ("outputs.tf", _replace("    AUTH_MODE                 = var.auth_mode\n", ""), "'AUTH_MODE' is used"),
    ("variables.tf", _replace('default     = "required"', 'default     = "off"'), "setting auth_mode"),
    ("firestore.tf", _remove("google_firestore_field", "decisions_ttl"), "TTL policy on expire_at for collection 'decisions'"),
    ("firestore.tf", _remove("google_firestore_field", "delivery_attempts_ttl"), "collection 'delivery_attempts'"),
    # Settings a deployed function reads must reach it (issue 12: both were missing).
    ("outputs.tf", _replace("    RATE_LIMIT_PER_MINUTE     = tostring(var.rate_limit_per_minute)\n", ""), "'RATE_LIMIT_PER_MINUTE' is used"),
    ("outputs.tf", _replace("  MAX_DELIVERY_ATTEMPTS = tostring(var.max_delivery_attempts)\n", ""), "'MAX_DELIVERY_ATTEMPTS' is used"),
    (
        "outputs.tf",
        _replace("MAX_DELIVERY_ATTEMPTS = tostring(var.max_delivery_attempts)", 'MAX_DELIVERY_ATTEMPTS = "3"'),
        "the handlers must give up when Pub/Sub does",
    ),
    # A function configured with a resource holds a role on it.
    (
        "service_accounts.tf",
        _remove("google_storage_bucket_iam_member", "scorer_reads_models"),
        "scorer is configured with MODEL_STORE=gs://example-project-zatsudan-models/models but has no role to read objects",
    ),
    (
        "batch.tf",
        _remove("google_storage_bucket_iam_member", "trainer_writes_models"),
        "trainer is configured with MODEL_STORE=gs://example-project-zatsudan-models/models but has no role to write objects",
    ),
    (
        "service_accounts.tf",
        _replace('scorer   = ["selection_logs", "utterances_dead", "replies"]', 'scorer   = ["selection_logs", "replies"]'),
        "scorer is configured with UTTERANCES_TOPIC=utterances but has no role to publish 'utterances-dead'",
    ),
    (
        "service_accounts.tf",
        _replace('for_each   = toset(["log-sink", "corpus"])', 'for_each   = toset(["corpus"])'),
        "log-sink is configured with BIGQUERY_DATASET=zatsudan but has no role to write dataset 'zatsudan'",
    ),
    # The production reply store is decided once: docs/configuration.md says it, Terraform deploys it.
    (
        "variables.tf",
        _replace('default     = "rtdb"\n  validation', 'default     = "firestore"\n  validation'),
        "docs/configuration.md says production runs REPLY_STORE=rtdb, Terraform deploys 'firestore'",
    ),
    # A state move that leads nowhere would destroy and re-create.
    ("moved.tf", _replace('topic.topic["feedback"]', 'topic.topic["feedbacks"]'), 'topic["feedbacks"] is not declared'),
    (
        "moved.tf",
        _append("moved {\n  from = google_bigquery_table.view\n  to   = google_bigquery_table.table\n}\n"),
        "google_bigquery_table.view is still declared",
    ),
]


def _copy_of_terraform(tmp_path: Path) -> Path:
    """infra/terraform copied where its file() paths still find shared/."""
    copy = tmp_path / "infra" / "terraform"
    shutil.copytree(TERRAFORM_DIR, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    (tmp_path / "shared").symlink_to(TERRAFORM_DIR.parents[1] / "shared")
    return copy


def test_an_unedited_copy_has_no_drift(tmp_path: Path):
    assert check_terraform.problems(_copy_of_terraform(tmp_path)) == []


@pytest.mark.parametrize("file,edit,expected", DRIFTS, ids=[d[2] for d in DRIFTS])
def test_drift_is_reported(tmp_path: Path, file, edit, expected):
    copy = _copy_of_terraform(tmp_path)
    original = (copy / file).read_text()
    edited = edit(original)
    assert edited != original, "the edit no longer applies: update the test"
    (copy / file).write_text(edited)

    problems = check_terraform.problems(copy)

    assert any(expected in problem for problem in problems), problems


def test_checker_exits_non_zero_on_drift(tmp_path: Path):
    copy = _copy_of_terraform(tmp_path)
    pubsub = copy / "pubsub.tf"
    pubsub.write_text(_remove_entry("selection_logs")(pubsub.read_text()))
    assert check_terraform.main([str(copy)]) == 1
    assert check_terraform.main([]) == 0


def test_every_setting_is_in_the_settings_table(monkeypatch):
    table = dict(check_terraform.SETTINGS)
    del table["MODEL_POINTER_TTL_S"]
    monkeypatch.setattr(check_terraform, "SETTINGS", table)
    assert "setting 'MODEL_POINTER_TTL_S' is read by shared/config.py but missing from the settings table" in " ".join(
        check_terraform.problems()
    )


def test_a_setting_the_configuration_doc_does_not_list_is_reported(monkeypatch, tmp_path):
    doc = tmp_path / "configuration.md"
    doc.write_text(check_terraform.CONFIGURATION_DOC.read_text().replace("| `MAX_KEYWORDS` |", "| MAX_KEYWORDS |"))
    monkeypatch.setattr(check_terraform, "CONFIGURATION_DOC", doc)
    assert "setting 'MAX_KEYWORDS' is in no table of docs/configuration.md" in check_terraform.problems()


def test_a_configuration_doc_without_the_reply_store_statement_is_reported(monkeypatch, tmp_path):
    doc = tmp_path / "configuration.md"
    doc.write_text(check_terraform.CONFIGURATION_DOC.read_text().replace("**Production runs", "Production runs"))
    monkeypatch.setattr(check_terraform, "CONFIGURATION_DOC", doc)
    assert any("does not state the production reply store" in problem for problem in check_terraform.problems())


def test_grants_name_only_settings(monkeypatch):
    monkeypatch.setattr(check_terraform, "GRANTS", {**check_terraform.GRANTS, "NO_SUCH_TOPIC": (("scorer", "publish", "{value}"),)})
    assert "GRANTS names 'NO_SUCH_TOPIC', which is not a setting" in check_terraform.problems()


def test_the_settings_table_is_the_code_table():
    """The check reads shared/config.py's rows, not a copy (nothing parses source)."""
    from shared import config

    assert set(check_terraform.SETTINGS) == set(config.variables())
    for name, variable in check_terraform.SETTINGS.items():
        assert variable.readers == config.variables()[name].readers
    assert check_terraform.SETTINGS["GCP_PROJECT"].local_only
    assert "import ast" not in Path(check_terraform.__file__).read_text()


def test_the_local_stack_sets_only_settings_and_client_addresses(monkeypatch):
    monkeypatch.setattr(check_terraform, "STACK_CLIENT_VARIABLES", check_terraform.STACK_CLIENT_VARIABLES - {"WEB_URL"})
    assert "the local stack sets 'WEB_URL', which is neither a setting nor a client address" in check_terraform.problems()


def test_local_only_settings_say_why():
    for name, setting in check_terraform.SETTINGS.items():
        assert setting.production in (check_terraform.TERRAFORM, check_terraform.SECRET) or len(setting.production) > 12, name
