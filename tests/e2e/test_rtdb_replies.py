"""REPLY_STORE=rtdb end to end: the functions write replies to the Realtime
Database (the local RTDB server), and every client watches the key there."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from jobs.chat import ChatClient, RtdbReplyWatcher
from tests.conftest import REPO
from tests.e2e.conftest import chat_in_browser
from tests.support import eventually
from shared.ranking import RANKERS


@pytest.fixture(scope="module")
def rtdb_stack(stack):
    """The session's stack with its functions restarted on REPLY_STORE=rtdb (then back)."""
    stack.switch_reply_store("rtdb")
    try:
        yield stack
    finally:
        stack.switch_reply_store("firestore")


def rest_read(stack, path: str):
    """A plain REST read of the RTDB server (what `curl` would do)."""
    response = requests.get(f"{stack.url('rtdb')}{path}.json", params={"ns": stack.project}, timeout=5)
    response.raise_for_status()
    return response.json()


def test_a_posted_utterance_gets_its_reply_at_the_rtdb_path(rtdb_stack, unique):
    response = requests.post(
        f"{rtdb_stack.url('ingress')}/v1/utterances", json={"user_id": unique, "text": "Hello there"}, timeout=10
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["reply_path"] == f"/replies/{accepted['conversation_id']}/{accepted['message_id']}"
    reply = eventually(lambda: rest_read(rtdb_stack, accepted["reply_path"]), timeout=20)
    assert reply["message_id"] == accepted["message_id"]
    assert reply["algorithm"] == accepted["algorithm"]
    assert reply["text"]


def test_the_chat_client_watches_the_rtdb_key_by_a_listener(rtdb_stack, clients, unique):
    chat = ChatClient(rtdb_stack.url("ingress"), RtdbReplyWatcher(clients.rtdb), user_id=unique)
    first, second = chat.say("こんにちは"), chat.say("What is your favorite book?")
    assert first.text and second.text
    assert {first.algorithm, second.algorithm} <= set(RANKERS)


def test_the_terminal_chat_reads_rtdb_from_the_stack_env(rtdb_stack):
    result = subprocess.run(
        [sys.executable, "-m", "jobs.chat", "--env", str(rtdb_stack.env_file), "--once", "Hello"],
        capture_output=True, text=True, timeout=60, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.startswith("bot> ")


def test_a_line_typed_in_the_page_gets_its_reply_from_rtdb(rtdb_stack, auth_required, page):
    """The page signs in and posts with its ID token (AUTH_MODE=required), and
    sends the token to the reply stream too (auth=, as the real RTDB wants)."""
    config = requests.get(f"{rtdb_stack.url('web')}/config.json", timeout=5).json()
    assert config["replyStore"] == "rtdb"
    shown = chat_in_browser(page, rtdb_stack.url("web"), "Hello")
    assert shown["text"].startswith("bot> ") and shown["algorithm"] in RANKERS
    assert " ms · keywords: " in shown["meta"]
