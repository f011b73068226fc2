"""The clients of a stack with ``AUTH_MODE=required``: the web chat page in
headless Chromium (signed in anonymously against the stack's Firebase Auth
emulator, posting with the user's ID token; replies from Firestore), and the
terminal chat (signing its requests with the webhook secret)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import requests

from tests.conftest import REPO
from tests.e2e.conftest import chat_in_browser
from shared.ranking import RANKERS

pytestmark = pytest.mark.usefixtures("auth_required")


def test_the_page_config_names_the_stack(stack):
    config = requests.get(f"{stack.url('web')}/config.json", timeout=5).json()
    assert config["ingressUrl"] == stack.url("ingress")
    assert config["firestoreHost"] == stack.host("firestore")
    assert config["rtdbUrl"] == stack.url("rtdb") and config["rtdbNs"] == stack.project
    assert config["authEmulatorHost"] == stack.host("auth")
    assert config["firebase"]["projectId"] == stack.project and config["firebase"]["apiKey"]


def test_ingress_refuses_an_unsigned_line(stack):
    response = requests.post(f"{stack.url('ingress')}/v1/utterances", json={"user_id": "u", "text": "猫"}, timeout=10)
    assert response.status_code == 401, response.text


def test_a_line_typed_in_the_page_gets_its_reply_from_firestore(stack, page):
    shown = chat_in_browser(page, stack.url("web"), "猫が好きです")
    assert shown["you"] == "you> 猫が好きです"
    assert shown["text"].startswith("bot> ")
    assert shown["algorithm"] in RANKERS
    assert re.search(rf"\[{shown['algorithm']} · \d+ ms · keywords: ", shown["meta"]), shown["meta"]
    assert page.inner_text("#status").startswith("signed in (anonymous)")
    uid = page.get_attribute("body", "data-uid")
    assert uid in emulator_users(stack)  # an anonymous account of the Auth emulator


def test_a_thumbs_up_in_the_page_becomes_a_feedback_row(stack, page, clients, settings):
    from tests.support import eventually, query_rows

    chat_in_browser(page, stack.url("web"), "こんにちは")
    reply = page.query_selector("#log li.bot")
    message_id = reply.get_attribute("data-message-id")
    page.click("#log li.bot .rate-up")
    page.wait_for_selector("#log li.bot[data-rated='1']", timeout=10000)
    rows = eventually(
        lambda: query_rows(
            clients.bigquery,
            f"SELECT reward, source FROM `{settings.feedback_table_id}` WHERE message_id = '{message_id}'",
        ),
        timeout=20,
    )
    assert rows == [{"reward": 1.0, "source": "explicit"}]


def test_a_page_that_cannot_sign_in_says_so_and_sends_nothing(stack, page):
    config = requests.get(f"{stack.url('web')}/config.json", timeout=5).json()
    config["authEmulatorHost"] = "127.0.0.1:9"  # nothing listens there
    page.route("**/config.json", lambda route: route.fulfill(content_type="application/json", body=json.dumps(config)))
    page.goto(stack.url("web") + "/")
    page.wait_for_selector("body[data-ready=signin-failed]", timeout=20000)
    assert page.inner_text("#status").startswith("sign-in failed: auth/network-request-failed")
    assert page.is_disabled("#line")


def test_a_disabled_users_token_is_refused(stack):
    """CHECK_REVOKED is on locally too: ingress asks the Auth emulator about the user."""
    uid, token = anonymous_sign_up(stack)
    post = lambda: requests.post(  # noqa: E731
        f"{stack.url('ingress')}/v1/utterances", json={"user_id": uid, "text": "こんにちは"},
        headers={"Authorization": f"Bearer {token}"}, timeout=10,
    )
    assert post().status_code == 202
    emulator = f"{stack.url('auth')}/identitytoolkit.googleapis.com/v1/projects/{stack.project}/accounts:update"
    requests.post(emulator, json={"localId": uid, "disableUser": True}, headers={"Authorization": "Bearer owner"}, timeout=5).raise_for_status()
    refused = post()
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated", refused.text


def test_the_terminal_chat_signs_its_lines_with_the_stacks_webhook_secret(stack):
    assert "WEBHOOK_SECRET=" in stack.env_file.read_text()
    result = subprocess.run(
        [sys.executable, "-m", "jobs.chat", "--env", str(stack.env_file)],
        input="猫が好きです\n+\nWhat is your favorite book?\n",
        capture_output=True, text=True, timeout=90, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "error" not in result.stdout, result.stdout
    assert result.stdout.count("bot> ") == 2 and "(rated +1: thanks)" in result.stdout, result.stdout


def anonymous_sign_up(stack) -> tuple[str, str]:
    """(uid, ID token) of a new anonymous account, as the JS SDK's signInAnonymously makes it."""
    response = requests.post(
        f"{stack.url('auth')}/identitytoolkit.googleapis.com/v1/accounts:signUp",
        params={"key": "any"}, json={"returnSecureToken": True}, timeout=5,
    )
    response.raise_for_status()
    return response.json()["localId"], response.json()["idToken"]


def emulator_users(stack) -> set[str]:
    """The uids of the Auth emulator's accounts (its admin API: ``Bearer owner``)."""
    response = requests.post(
        f"{stack.url('auth')}/identitytoolkit.googleapis.com/v1/projects/{stack.project}/accounts:query",
        json={}, headers={"Authorization": "Bearer owner"}, timeout=5,
    )
    response.raise_for_status()
    return {user["localId"] for user in response.json().get("userInfo", [])}
