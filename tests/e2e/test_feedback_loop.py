"""The loop from a conversation to the report: replies, feedback, redeliveries, counts.

A scripted conversation with thumbs and implied (continued) rewards; then
forced redeliveries (every selection log published again, a feedback
published again, and a duplicate row that slipped past BigQuery's insert-id
de-duplication); the report must still count every reply exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter, defaultdict

import pytest
import requests

from jobs.chat import CONTINUATION_REWARD, ChatClient, FirestoreReplyWatcher
from jobs.report import run_report
from shared.events import SelectionLog
from shared.stores import DecisionStore
from tests.conftest import REPO
from tests.support import eventually, query_rows, seed_corpus

# (line, what the user does after the reply: "+", "-" or nothing)
SCRIPT = [
    ("こんにちは", "+"),
    ("好きな食べ物は何ですか？", ""),
    ("映画は好きですか？", "-"),
    ("What is your favorite book?", ""),
    ("Do you like music?", ""),
    ("Hello", ""),
]


@pytest.fixture(scope="module")
def seeded(clients):
    return seed_corpus(clients.firestore)


def count_where(clients, table: str, column: str, value: str) -> int:
    rows = query_rows(clients.bigquery, f"SELECT COUNT(*) AS n FROM `{table}` WHERE {column} = '{value}'")
    return rows[0]["n"]


def test_report_counts_every_reply_once_with_its_reward_after_redeliveries(stack, clients, settings, seeded, unique):
    chat = ChatClient(stack.url("ingress"), FirestoreReplyWatcher(clients.firestore), user_id=unique)
    answers, expected_reward, feedback_count = [], {}, 0
    for line, rating in SCRIPT:
        if answers and answers[-1].message_id not in expected_reward:
            expected_reward[answers[-1].message_id] = CONTINUATION_REWARD  # chat.say sends it
            feedback_count += 1
        answers.append(chat.say(line))
        if rating:
            chat.rate({"+": 1.0, "-": -1.0}[rating])
            expected_reward[answers[-1].message_id] = {"+": 1.0, "-": -1.0}[rating]
            feedback_count += 1
    # An explicit rating given later wins over the implied one.
    overridden = answers[3].message_id
    response = requests.post(
        f"{stack.url('ingress')}/v1/feedback", json={"message_id": overridden, "reward": -1, "user_id": unique}, timeout=10
    )
    assert response.status_code == 202
    expected_reward[overridden] = -1.0
    feedback_count += 1

    assert eventually(lambda: count_where(clients, settings.selections_table_id, "user_id", unique) == len(SCRIPT), 30)
    assert eventually(lambda: count_where(clients, settings.feedback_table_id, "user_id", unique) == feedback_count, 30)

    # Forced redeliveries: every selection log again (from the scorer's stored
    # decisions), every feedback again, and one row that slipped past the
    # insert-id de-duplication (another insert id, as a best-effort miss).
    selections = clients.publisher.topic_path(settings.project, settings.topics.selection_logs)
    feedback = clients.publisher.topic_path(settings.project, settings.topics.feedback)
    for answer in answers:
        stored = SelectionLog.from_dict(DecisionStore(clients.firestore).get(answer.message_id)["log"])
        for _ in range(2):
            clients.publisher.publish(selections, stored.to_json(), message_id=stored.message_id).result()
    feedback_rows = query_rows(clients.bigquery, f"SELECT * FROM `{settings.feedback_table_id}` WHERE user_id = '{unique}'")
    for row in feedback_rows:
        row["given_at"] = row["given_at"].isoformat().replace("+00:00", "Z")
        clients.publisher.publish(feedback, json.dumps(row).encode(), feedback_id=row["feedback_id"]).result()
    assert not clients.bigquery.insert_rows_json(
        settings.selections_table_id, [stored.to_row()], row_ids=[f"{stored.message_id}-missed"]
    )
    assert not clients.bigquery.insert_rows_json(
        settings.feedback_table_id, [feedback_rows[0]], row_ids=[f"{feedback_rows[0]['feedback_id']}-missed"]
    )
    # Give the log sink time to process (and drop) the redeliveries.
    eventually(lambda: False, timeout=5)
    assert count_where(clients, settings.selections_table_id, "user_id", unique) == len(SCRIPT) + 1  # the raw table has the miss

    dataset = f"{settings.project}.{settings.bigquery_dataset}"
    report = {r.algorithm: r for r in run_report(clients.bigquery, dataset, user_id=unique)}
    replies = Counter(a.algorithm for a in answers)
    rewards = defaultdict(list)
    for answer in answers:
        if answer.message_id in expected_reward:
            rewards[answer.algorithm].append(expected_reward[answer.message_id])
    assert {name: r.replies for name, r in report.items()} == dict(replies)
    assert {name: r.rated for name, r in report.items()} == {name: len(rewards[name]) for name in replies}
    for name, row in report.items():
        assert row.traffic_share == pytest.approx(replies[name] / len(SCRIPT))
        if rewards[name]:
            assert row.mean_reward == pytest.approx(sum(rewards[name]) / len(rewards[name]))
        assert row.p50_ms <= row.p90_ms <= row.p99_ms


def test_make_report_prints_the_table_and_writes_a_png(stack, tmp_path):
    chart = tmp_path / "report.png"
    result = subprocess.run(
        [sys.executable, "-m", "jobs.report", "--env", str(stack.env_file), "--chart", str(chart)],
        capture_output=True, text=True, timeout=120, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split()[:3] == ["algorithm", "replies", "share"]
    data = chart.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000
