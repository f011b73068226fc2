"""What a stack exports for each reply store, and what the web page is told (no processes started)."""

from __future__ import annotations

import pytest

from infra.local.stack import Stack
from infra.local.web_server import page_config


@pytest.mark.parametrize("store, runs_rtdb", [("firestore", False), ("rtdb", True)])
def test_the_rtdb_server_runs_and_is_exported_only_with_rtdb_replies(tmp_path, store, runs_rtdb):
    stack = Stack(run_dir=tmp_path, port_base=9100, reply_store=store)
    env = stack.env()
    assert env["REPLY_STORE"] == store
    assert ("rtdb" in {s.name for s in stack.services()}) is runs_rtdb
    assert ("FIREBASE_DATABASE_EMULATOR_HOST" in env) is runs_rtdb
    assert env["AUTH_MODE"] == "off" and env["CORS_ORIGINS"] == env["WEB_URL"] == "http://127.0.0.1:9108"
    if runs_rtdb:
        assert env["FIREBASE_DATABASE_EMULATOR_HOST"] == "127.0.0.1:9107"
        assert env["FIREBASE_DATABASE_URL"] == "https://zatsudan-local.firebaseio.com"


def test_the_page_config_for_a_local_rtdb_stack():
    env = Stack(port_base=9100, reply_store="rtdb").env()
    config = page_config(env)
    assert config == {
        "ingressUrl": "http://127.0.0.1:9104", "replyStore": "rtdb", "project": "zatsudan-local",
        "firestoreHost": "127.0.0.1:9101", "rtdbUrl": "http://127.0.0.1:9107", "rtdbNs": "zatsudan-local",
    }


def test_the_page_config_for_a_real_database_streams_from_its_url():
    config = page_config({"INGRESS_URL": "https://x", "REPLY_STORE": "rtdb", "FIREBASE_DATABASE_URL": "https://p-default-rtdb.firebaseio.com/"})
    assert (config["rtdbUrl"], config["rtdbNs"], config["firestoreHost"]) == ("https://p-default-rtdb.firebaseio.com", None, None)
