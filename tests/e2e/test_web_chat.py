"""The web chat page in headless Chromium, replies from Firestore (the Firebase JS SDK's onSnapshot)."""

from __future__ import annotations

import re

import requests

from tests.e2e.conftest import chat_in_browser


def test_the_page_config_names_the_stack(stack):
    config = requests.get(f"{stack.url('web')}/config.json", timeout=5).json()
    assert config["ingressUrl"] == stack.url("ingress")
    assert config["firestoreHost"] == stack.host("firestore")
    assert config["rtdbUrl"] == stack.url("rtdb") and config["rtdbNs"] == stack.project


def test_a_line_typed_in_the_page_gets_its_reply_from_firestore(stack, page):
    shown = chat_in_browser(page, stack.url("web"), "猫が好きです")
    assert shown["you"] == "you> 猫が好きです"
    assert shown["text"].startswith("bot> ")
    assert shown["algorithm"] in ("tfidf", "bm25")
    assert re.search(rf"\[{shown['algorithm']} · \d+ ms · keywords: ", shown["meta"]), shown["meta"]
