"""Each function bundle (.build/<function>/) installs into a fresh virtual
environment from its own trimmed requirements.txt, builds its service there,
and answers HTTP under ``functions-framework --target=...`` from the bundle
directory: nothing from the repository's .venv or source tree leaks in.

The first tests need no emulator: the clients are pointed at emulator
addresses where nothing listens (so they are created without credentials and
never used). ingress answers GET /healthz (which builds it); scorer and
log_sink are CloudEvent functions, and a body that is not a Pub/Sub push (no
message to dead-letter) is refused with 400 before any handler runs, which
proves the module loaded.

The push tests then run the Pub/Sub and Firestore emulators on those
addresses and send each push bundle valid pushes: one that fails inside the
handler (fault injection, shared/faults.py) answers 500 and counts the
attempt in Firestore ``delivery_attempts``; one that can never succeed (an
event of the wrong schema, an envelope that does not decode, a body
functions-framework cannot read as an event) is dead-lettered to
``<topic>-dead`` and acknowledged with 200, since a push subscription
redelivers every other answer, 400 included.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from infra import deploy
from infra.local import stack as local_stack
from tests.conftest import TEST_PORT_BASE

pytestmark = pytest.mark.slow

# function -> (port, request, expected status)
PROBES = {
    "ingress": (TEST_PORT_BASE + 281, ("GET", "/healthz", None), 200),
    "scorer": (TEST_PORT_BASE + 282, ("POST", "/", {"not": "a push"}), 400),
    "log-sink": (TEST_PORT_BASE + 283, ("POST", "/", {"not": "a push"}), 400),
    "delivery": (TEST_PORT_BASE + 287, ("POST", "/", {"not": "a push"}), 400),
}
BUILDERS = {"ingress": "build_ingress", "scorer": "build_scorer", "log-sink": "build_log_sink", "delivery": "build_delivery"}
# Emulator addresses nobody listens on: the clients need no credentials.
NOWHERE = {
    "GOOGLE_CLOUD_PROJECT": "bundle-test",
    "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{TEST_PORT_BASE + 284}",
    "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{TEST_PORT_BASE + 285}",
    "BIGQUERY_EMULATOR_HOST": f"127.0.0.1:{TEST_PORT_BASE + 286}",
}


def isolated_env(venv: Path) -> dict[str, str]:
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "PYTHONNOUSERSITE": "1", **NOWHERE}
    # pip's settings and cache (HOME), nothing else from outside.
    env["HOME"] = os.environ.get("HOME", str(venv))
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    return env


def install(function: deploy.Function, root: Path) -> tuple[Path, Path]:
    bundle = deploy.build_bundle(function, root / "build")
    venv = root / f"venv-{function.name}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [f"{venv}/bin/pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check", "-r", "requirements.txt"],
        cwd=bundle, env=isolated_env(venv), check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return bundle, venv


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundles")
    # One at a time: parallel pips fight over two cores and the network (slower).
    return {function.name: install(function, root) for function in deploy.FUNCTIONS}


def function(name: str) -> deploy.Function:
    return next(f for f in deploy.FUNCTIONS if f.name == name)


@pytest.mark.parametrize("name", sorted(PROBES))
def test_bundle_builds_its_service_in_a_fresh_venv(installed, name):
    """Every client library and data file the service needs (the Japanese
    dictionary for the scorer) comes from the bundle's own requirements."""
    bundle, venv = installed[name]
    script = (
        "import sys, main; from shared import app, config; from shared.clients import Clients\n"
        "assert all('/.venv' not in p for p in sys.path), sys.path\n"
        f"settings = config.load(); app.{BUILDERS[name]}(settings, Clients(settings)); print('built')"
    )
    done = subprocess.run(
        [f"{venv}/bin/python", "-c", script], cwd=bundle, env=isolated_env(venv), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "built" in done.stdout, done.stderr


@contextlib.contextmanager
def serving(installed, name: str, env: dict[str, str] | None = None):
    """functions-framework serving the installed bundle ``name``; yields its URL."""
    bundle, venv = installed[name]
    port = PROBES[name][0]
    server = subprocess.Popen(
        [f"{venv}/bin/functions-framework", f"--target={function(name).entry_point}", "--source=main.py", f"--port={port}", "--host=127.0.0.1"],
        cwd=bundle, env={**isolated_env(venv), **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise AssertionError(f"functions-framework exited:\n{server.stdout.read()}")
            try:
                requests.get(url, timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "functions-framework did not answer"
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("name", sorted(PROBES))
def test_functions_framework_serves_the_bundle(installed, name):
    _, (method, path, body), status = PROBES[name]
    with serving(installed, name) as url:
        answer = requests.request(method, f"{url}{path}", json=body, timeout=30)
    assert answer.status_code == status, answer.text


# -- push outcomes in bundle form, on the Pub/Sub and Firestore emulators ----------

PROJECT = NOWHERE["GOOGLE_CLOUD_PROJECT"]
# push function -> (its topic, the event it takes, the fault point inside its processing)
PUSHES = {
    "scorer": ("utterances", "utterance-event.json", "scorer.before_write"),
    "log-sink": ("selection-logs", "selection-log.json", "log_sink.before_insert"),
    "delivery": ("replies", "reply-event.json", "delivery.before_send"),
}
DATA = Path(__file__).resolve().parents[1] / "data"


@contextlib.contextmanager
def _emulator_env():
    """The emulator addresses, in os.environ only while clients are made."""
    saved = {k: os.environ.get(k) for k in NOWHERE}
    os.environ.update(NOWHERE)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _wait_ok(url: str, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            if requests.get(url, timeout=1).text.strip() == "Ok":
                return
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, f"{url} not ready"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def emulators(tmp_path_factory):
    """Pub/Sub and Firestore emulators on NOWHERE's addresses, each push
    topic's dead-letter topic with a pull subscription to read it."""
    root = local_stack.sdk_root()
    logs = tmp_path_factory.mktemp("emulator-logs")
    pubsub_host, firestore_host = NOWHERE["PUBSUB_EMULATOR_HOST"], NOWHERE["FIRESTORE_EMULATOR_HOST"]
    commands = {
        "pubsub": [str(root / "platform/pubsub-emulator/bin/cloud-pubsub-emulator"), "--host=127.0.0.1", f"--port={pubsub_host.split(':')[1]}"],
        "firestore": [str(root / "platform/cloud-firestore-emulator/cloud_firestore_emulator"), "start", "--host=127.0.0.1",
                      f"--port={firestore_host.split(':')[1]}", f"--project_id={PROJECT}"],
    }  # fmt: skip
    processes = []
    try:
        for name, command in commands.items():
            env = {**os.environ, "JAVA_TOOL_OPTIONS": local_stack.JAVA_OPTIONS[name]}
            with open(logs / f"{name}.log", "wb") as log:
                processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        _wait_ok(f"http://{pubsub_host}/")
        _wait_ok(f"http://{firestore_host}/")
        from google.cloud import firestore, pubsub_v1

        with _emulator_env():
            publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
            db = firestore.Client(project=PROJECT)
        dead = {}
        for topic in ("utterances", "selection-logs", "feedback", "replies"):
            dead_topic = publisher.topic_path(PROJECT, f"{topic}-dead")
            publisher.create_topic(name=dead_topic)
            dead[topic] = subscriber.subscription_path(PROJECT, f"{topic}-dead-sub")
            subscriber.create_subscription(name=dead[topic], topic=dead_topic)
        yield db, subscriber, dead
        subscriber.close()
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)


def _push(url: str, topic: str, payload: bytes, message_id: str) -> requests.Response:
    """A push as Pub/Sub sends it, to the endpoint path Terraform gives it."""
    envelope = {
        "message": {"data": base64.b64encode(payload).decode(), "attributes": {}, "messageId": message_id,
                    "publishTime": "2026-01-01T00:00:00Z"},
        "subscription": f"projects/{PROJECT}/subscriptions/{topic}-push",
        "deliveryAttempt": 1,
    }  # fmt: skip
    return requests.post(f"{url}/projects/{PROJECT}/topics/{topic}", json=envelope, timeout=60)


def _dead_letters(subscriber, subscription: str, expect: int, timeout: float = 15.0) -> list:
    received, deadline = [], time.monotonic() + timeout
    while len(received) < expect and time.monotonic() < deadline:
        response = subscriber.pull(request={"subscription": subscription, "max_messages": 10, "return_immediately": True}, timeout=5)
        if response.received_messages:
            subscriber.acknowledge(request={"subscription": subscription, "ack_ids": [m.ack_id for m in response.received_messages]})
            received.extend(m.message for m in response.received_messages)
        else:
            time.sleep(0.2)
    return received


@pytest.mark.parametrize("name", sorted(PUSHES))
def test_a_push_failing_inside_the_bundles_handler_answers_500_and_counts_the_attempt(installed, emulators, name):
    """Deployed, main.py sits at the bundle's root: a transient failure must
    still be a 500 (retry), not a 400 "not a push envelope"."""
    db, subscriber, dead = emulators
    topic, event, point = PUSHES[name]
    message_id = f"transient-{name}"
    faults = {"FAULT_RATE": "1", "FAULT_POINTS": point}
    with serving(installed, name, faults) as url:
        answers = [_push(url, topic, (DATA / event).read_bytes(), message_id) for _ in range(2)]
    assert [a.status_code for a in answers] == [500, 500], answers[-1].text
    assert answers[0].json()["error"]["code"] == "internal"
    handler = deploy_handler_name(name)
    counted = db.collection("delivery_attempts").document(f"{handler}:{topic}-dead:{message_id}").get()
    assert counted.exists and counted.to_dict()["failures"] == 2
    assert _dead_letters(subscriber, dead[topic], expect=1, timeout=2) == []  # retried, not dead-lettered


def deploy_handler_name(name: str) -> str:
    """The name the push handler counts attempts under (shared/app.py)."""
    return name.replace("-", "_")


@pytest.mark.parametrize("name", sorted(PUSHES))
def test_a_push_that_can_never_succeed_is_dead_lettered_and_acknowledged_by_the_bundle(installed, emulators, name):
    _, subscriber, dead = emulators
    topic, _, _ = PUSHES[name]
    path = f"/projects/{PROJECT}/topics/{topic}"
    with serving(installed, name) as url:
        wrong_schema = _push(url, topic, b'{"not": "an event"}', f"poison-{name}")
        undecodable = requests.post(
            f"{url}{path}", json={"message": {"data": "%%%", "messageId": f"bad-b64-{name}"}, "subscription": "s"}, timeout=30
        )
        unreadable = requests.post(f"{url}{path}", json={"message": {"data": "aGk="}}, timeout=30)  # no id: not an event
        not_a_push = requests.post(f"{url}{path}", json={"not": "a push"}, timeout=30)
    for answer in (wrong_schema, undecodable, unreadable):
        assert answer.status_code == 200, answer.text  # acknowledged: Pub/Sub redelivers any other answer
    assert not_a_push.status_code == 400, not_a_push.text  # nothing to dead-letter
    letters = _dead_letters(subscriber, dead[topic], expect=3)
    reasons = sorted(letter.attributes["dead_letter_reason"] for letter in letters)
    assert len(letters) == 3, reasons
    assert any("base64" in reason for reason in reasons)
    assert any("not a readable Pub/Sub push" in reason for reason in reasons)
    assert {letter.attributes["dead_letter_source"] for letter in letters} == {deploy_handler_name(name)}
