"""The web chat page in headless Chromium, replies from Firestore (the Firebase JS SDK's onSnapshot)."""

from __future__ import annotations

import re

import requests

from tests.e2e.conftest import chat_in_browser
from shared.ranking import RANKERS


def test_the_page_config_names_the_stack(stack):
    config = requests.get(f"{stack.url('web')}/config.json", timeout=5).json()
    assert config["ingressUrl"] == stack.url("ingress")
    assert config["firestoreHost"] == stack.host("firestore")
    assert config["rtdbUrl"] == stack.url("rtdb") and config["rtdbNs"] == stack.project


def test_a_line_typed_in_the_page_gets_its_reply_from_firestore(stack, page):
    shown = chat_in_browser(page, stack.url("web"), "猫が好きです")
    assert shown["you"] == "you> 猫が好きです"
    assert shown["text"].startswith("bot> ")
    assert shown["algorithm"] in RANKERS
    assert re.search(rf"\[{shown['algorithm']} · \d+ ms · keywords: ", shown["meta"]), shown["meta"]


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
