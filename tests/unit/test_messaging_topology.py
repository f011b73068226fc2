"""The topic table is the one place a topic or subscription name is spelled."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from shared.config import Topics, load
from shared.messaging import topology

REPO = Path(__file__).resolve().parents[2]
SCANNED = ("shared", "jobs", "infra", "bench", "functions")
TABLE = REPO / "shared" / "messaging" / "topology.py"
# One-word topics are also words of other things (the BigQuery table
# `feedback`, the Firestore collection `replies`, a JSON key `utterances`), so
# a literal elsewhere need not name the topic; every other name can mean
# nothing but the topic or subscription.
COMMON_WORDS = {topology.UTTERANCES, topology.FEEDBACK, topology.REPLIES}
# The naming rules' suffixes, spelled by the rules alone: after a name, a
# format placeholder, or an f-string's placeholder (a part that starts with one).
SUFFIX = re.compile(r"(?:^|(?<=[\w}]))-(?:dead|workers)(?![\w-])")


def names() -> set[str]:
    every = set(topology.TOPICS)
    every |= {topology.dead_letter_topic(t) for t in topology.TOPICS}
    every |= {topology.dead_letter_subscription(t) for t in topology.TOPICS}
    every |= {s.name for s in topology.PUSH_SUBSCRIPTIONS} | {s.name for s in topology.PULL_SUBSCRIPTIONS}
    return every - COMMON_WORDS


def string_literals(path: Path):
    """(line, text) of every string constant of a module but its docstrings."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def sources():
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*.py")):
            if not any(part in {"node_modules", "__pycache__"} for part in path.parts) and path != TABLE:
                yield path


def test_topic_and_subscription_names_are_spelled_only_in_the_table():
    wanted = names()
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(wanted, key=len, reverse=True))) + r")(?![\w-])")
    found = [
        f"{path.relative_to(REPO)}:{line}: {text!r}"
        for path in sources()
        for line, text in string_literals(path)
        if pattern.search(text) or SUFFIX.search(text)
    ]
    assert found == []


def test_the_scan_would_see_a_name_spelled_elsewhere(tmp_path):
    stray = tmp_path / "stray.py"
    stray.write_text('"""Mentions corpus-tasks-workers in a docstring only."""\nX = "corpus-tasks-workers"\nY = f"{X}-dead"\n')
    assert [text for _, text in string_literals(stray)] == ["corpus-tasks-workers", "-dead"]
    assert [bool(SUFFIX.search(text)) for text in ("-dead", "{value}-dead", "t-workers", "--workers", "a-deadline")] == [
        True, True, True, False, False
    ]


def test_the_table_names_every_subscription_topic_and_each_topic_once():
    assert len(set(topology.TOPICS)) == len(topology.TOPICS)
    for subscription in [*topology.PUSH_SUBSCRIPTIONS, *topology.PULL_SUBSCRIPTIONS]:
        assert subscription.topic in topology.TOPICS


def test_settings_take_their_default_topics_from_the_table_and_env_still_overrides():
    defaults = Topics()
    assert (defaults.utterances, defaults.selection_logs, defaults.feedback, defaults.corpus_tasks, defaults.train_trials,
            defaults.replies) == tuple(topology.TOPICS)  # fmt: skip
    assert load({"UTTERANCES_TOPIC": "u-test"}).topics.utterances == "u-test"
    assert Topics.dead_letter("x") == topology.dead_letter_topic("x")


def test_the_workers_subscriptions_follow_the_naming_rule():
    for pull in topology.PULL_SUBSCRIPTIONS:
        assert pull.name == topology.workers_subscription(pull.topic)
        assert topology.pull_subscription(pull.topic) == pull


def test_the_terraform_check_takes_its_names_from_the_table_not_the_dev_stack():
    """Production's drift check learns topics and tables from shared/, not from
    the dev-stack folder (it compares with the local stack's environment only)."""
    tree = ast.parse((REPO / "infra" / "check_terraform.py").read_text())
    imported = {
        f"{node.module}.{alias.name}" if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert {"shared.messaging.topology", "shared.tables.BIGQUERY_TABLES", "shared.tables.BIGQUERY_VIEWS"} <= imported
    assert not (REPO / "infra" / "local" / "topology.py").exists()
