"""End to end on the local stack: HTTP in, reply out in Firestore, row in BigQuery."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from jobs.chat import ChatClient, FirestoreReplyWatcher
from shared.scorer import FALLBACKS
from shared.stores import ConversationStore
from tests.conftest import REPO
from tests.support import eventually, query_rows, utterance_event, seed_corpus
from shared.ranking import RANKERS


@pytest.fixture(scope="module")
def seeded(clients):
    counts = seed_corpus(clients.firestore)
    assert counts["ja"] > 100 and counts["en"] > 100
    return counts


@pytest.fixture
def chat(stack, clients, seeded, unique):
    return ChatClient(stack.url("ingress"), FirestoreReplyWatcher(clients.firestore), user_id=unique)


def selection_row(clients, settings, message_id):
    rows = query_rows(
        clients.bigquery,
        f"SELECT message_id, algorithm, reply_text, lang FROM `{settings.selections_table_id}` "
        f"WHERE message_id = '{message_id}'",
    )
    return rows[0] if rows else None


@pytest.mark.parametrize(
    "line, lang",
    [("好きな食べ物は何ですか？", "ja"), ("こんにちは", "ja"), ("What is your favorite book?", "en"), ("Hello", "en")],
)
def test_an_utterance_gets_a_reply_and_a_selection_row(chat, clients, settings, line, lang):
    answer = chat.say(line)
    assert answer.text and answer.text not in FALLBACKS
    assert answer.algorithm in RANKERS
    # The message id of the last exchange is the newest turn of the conversation.
    message_id = ConversationStore(clients.firestore).read(chat.conversation_id).turns[-1].message_id
    row = eventually(lambda: selection_row(clients, settings, message_id), timeout=20)
    assert row == {"message_id": message_id, "algorithm": answer.algorithm, "reply_text": answer.text, "lang": lang}


def test_a_conversation_keeps_its_id_and_every_line_is_answered(chat):
    replies = [chat.say(line) for line in ("おはよう、元気？", "映画は好きですか？", "Do you like music?")]
    assert all(r.text for r in replies)
    assert chat.conversation_id


def test_a_redelivered_utterance_gives_one_reply_and_one_row(stack, clients, settings, seeded, unique):
    """Publish the very same event twice, as Pub/Sub may deliver it."""
    event = utterance_event(unique, "猫が好きです", "ja", "bm25")
    message_id = event.message_id
    topic = clients.publisher.topic_path(settings.project, settings.topics.utterances)
    for _ in range(2):
        clients.publisher.publish(topic, event.to_json(), ordering_key=unique).result()
    assert eventually(lambda: selection_row(clients, settings, message_id), timeout=20)
    decisions = clients.firestore.collection("decisions").document(message_id)
    assert decisions.get().exists
    eventually(lambda: False, timeout=3)  # let the second delivery finish
    rows = query_rows(
        clients.bigquery, f"SELECT COUNT(*) AS n FROM `{settings.selections_table_id}` WHERE message_id = '{message_id}'"
    )
    assert rows == [{"n": 1}]
    replies = list(clients.firestore.collection("replies").document(unique).collection("messages").stream())
    assert [r.id for r in replies] == [message_id]


def test_the_terminal_chat_answers_lines_typed_at_its_prompt(stack, seeded):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "jobs.chat", "--env", str(stack.env_file)],
        input="こんにちは\nWhat is your favorite color?\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    bot_lines = [line for line in result.stdout.splitlines() if "bot> " in line]
    assert len(bot_lines) == 2
    assert "error" not in result.stdout
