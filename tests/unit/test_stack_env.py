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
    # The Auth emulator runs with every stack, so revocations are checked locally too.
    assert env["FIREBASE_AUTH_EMULATOR_HOST"] == "127.0.0.1:9112" and "CHECK_REVOKED" not in env
    if runs_rtdb:
        assert env["FIREBASE_DATABASE_EMULATOR_HOST"] == "127.0.0.1:9107"
        assert env["FIREBASE_DATABASE_URL"] == "https://zatsudan-local.firebaseio.com"


def test_the_page_config_for_a_local_rtdb_stack():
    env = Stack(port_base=9100, reply_store="rtdb").env()
    config = page_config(env)
    assert config == {
        "firebase": {"apiKey": "local-emulator", "authDomain": "zatsudan-local.firebaseapp.com", "projectId": "zatsudan-local"},
        "authEmulatorHost": "127.0.0.1:9112",
        "ingressUrl": "http://127.0.0.1:9104", "replyStore": "rtdb", "project": "zatsudan-local",
        "firestoreHost": "127.0.0.1:9101", "rtdbUrl": "http://127.0.0.1:9107", "rtdbNs": "zatsudan-local",
    }


def test_a_page_served_for_a_real_project_signs_in_with_its_web_config():
    config = page_config({"GOOGLE_CLOUD_PROJECT": "p", "INGRESS_URL": "https://x",
                          "FIREBASE_WEB_API_KEY": "AIza-key", "FIREBASE_AUTH_DOMAIN": "chat.example.com"})
    assert config["firebase"] == {"apiKey": "AIza-key", "authDomain": "chat.example.com", "projectId": "p"}
    assert config["authEmulatorHost"] is None
    # Without a key and without an emulator there is nothing to sign in with: the page says so.
    assert page_config({"GOOGLE_CLOUD_PROJECT": "p"})["firebase"]["apiKey"] is None


def test_the_auth_emulator_takes_every_port_from_the_stacks_base_and_no_ui(tmp_path):
    import json

    stack = Stack(run_dir=tmp_path, port_base=9100)
    config = json.loads(stack.write_auth_emulator_config().read_text())["emulators"]
    assert config == {
        "auth": {"host": "127.0.0.1", "port": 9112}, "hub": {"host": "127.0.0.1", "port": 9113},
        "logging": {"host": "127.0.0.1", "port": 9114}, "ui": {"enabled": False},
    }
    auth = next(s for s in stack.services() if s.name == "auth")
    assert stack._command(auth)[1:4] == ["emulators:start", "--only", "auth"]


def test_the_page_config_for_a_real_database_streams_from_its_url():
    config = page_config({"INGRESS_URL": "https://x", "REPLY_STORE": "rtdb", "FIREBASE_DATABASE_URL": "https://p-default-rtdb.firebaseio.com/"})
    assert (config["rtdbUrl"], config["rtdbNs"], config["firestoreHost"]) == ("https://p-default-rtdb.firebaseio.com", None, None)


def test_the_functions_run_from_their_deploy_bundles_and_import_nothing_from_the_repository(tmp_path):
    """What ships is what runs: each function is served from the bundle
    infra.deploy builds, in the bundle's folder, with only the bundle on PYTHONPATH."""
    from infra import deploy
    from infra.local.stack import REPO, SERVICES

    stack = Stack(run_dir=tmp_path, port_base=9100)
    stack.build_bundles()
    for service in (s for s in SERVICES if s.kind == "function"):
        function = next(f for f in deploy.FUNCTIONS if f.source == service.name)
        bundle = tmp_path / "bundles" / function.name
        assert sorted(p.name for p in bundle.iterdir()) == [".gcloudignore", "main.py", "requirements.txt", "shared"]
        assert (bundle / "main.py").read_text() == (REPO / "functions" / service.name / "main.py").read_text()
        command = stack._command(service)
        assert f"--source={bundle / 'main.py'}" in command and f"--target={function.entry_point}" in command
        env = stack._process_env(service)
        assert env["PYTHONPATH"] == str(bundle)
        assert env["MODEL_STORE"] == str(REPO / ".run" / "models")  # where make train publishes


def test_an_absolute_or_gs_model_store_reaches_the_functions_unchanged(tmp_path):
    from infra.local.stack import SERVICES

    scorer = next(s for s in SERVICES if s.name == "scorer")
    for store in ("/tmp/models", "gs://bucket/models"):
        env = Stack(run_dir=tmp_path, port_base=9100, extra_env={"MODEL_STORE": store})._process_env(scorer)
        assert env["MODEL_STORE"] == store
