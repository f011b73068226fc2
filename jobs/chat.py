"""Terminal chat: post each line to ingress, watch the reply key, print the reply.

    python -m jobs.chat --env .run/stack.env            # interactive
    python -m jobs.chat --env .run/stack.env --once こんにちは

The reply is awaited with a listener on ``reply_path`` (never by polling),
exactly as a mobile client would: a Firestore ``on_snapshot`` listener, or a
Realtime Database ``listen`` (``REPLY_STORE=rtdb``).

With a ``WEBHOOK_SECRET`` in the environment (``make up AUTH_MODE=required
WEBHOOK_SECRET=...`` puts it in stack.env) every request is signed as a
webhook caller's (``X-Zatsudan-Signature``, ``shared.auth.sign``), so the chat
works against a stack with auth on.

Feedback (``POST /v1/feedback``), which the bandit router learns from:
- a line ``+`` or ``-`` rates the last reply +1 or -1 (explicit);
- saying something more within ``CONTINUATION_WINDOW_S`` (5 minutes) of a
  reply that was not rated counts as ``CONTINUATION_REWARD`` (+0.5) for that
  reply (continued): the user found it worth going on. A reply left without
  an answer earns nothing (no row), rather than a guessed penalty.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import dataclass

import requests

from jobs import ENV_HELP, connect
from shared.auth import SIGNATURE_HEADER, sign

REPLY_TIMEOUT_S = 15.0
CONTINUATION_WINDOW_S = 300.0
CONTINUATION_REWARD = 0.5
RATINGS = {"+": 1.0, "-": -1.0}


@dataclass(frozen=True)
class Answer:
    text: str
    algorithm: str
    keywords: list[str]
    elapsed_ms: float
    message_id: str = ""


class _FirstValue:
    """The first value a listener hands over (its callbacks run in one thread)."""

    def __init__(self) -> None:
        self._arrived = threading.Event()
        self._value: dict | None = None

    def offer(self, value: dict) -> None:
        if not self._arrived.is_set():
            self._value = value
            self._arrived.set()

    def wait(self, timeout: float) -> dict | None:
        self._arrived.wait(timeout)
        return self._value


class FirestoreReplyWatcher:
    """Waits for a document to exist, by an ``on_snapshot`` listener."""

    def __init__(self, db) -> None:
        self._db = db

    def wait(self, path: str, timeout: float) -> dict | None:
        first = _FirstValue()

        def on_snapshot(snapshots, _changes, _read_time):
            for snapshot in snapshots:
                if snapshot.exists:
                    first.offer(snapshot.to_dict())

        document = self._db.document(path)
        watch = document.on_snapshot(on_snapshot)
        try:
            found = first.wait(timeout)
        finally:
            watch.unsubscribe()
        if found is not None:
            return found
        # A listener can miss a write made while its stream was being set up
        # (seen once in a full test run on the emulator, the reply written in
        # 10 ms): one read before giving up.
        snapshot = document.get()
        return snapshot.to_dict() if snapshot.exists else None


class RtdbReplyWatcher:
    """Waits for a Realtime Database node to exist, by ``Reference.listen``."""

    def __init__(self, root_reference) -> None:
        self._root = root_reference

    def wait(self, path: str, timeout: float) -> dict | None:
        first = _FirstValue()
        node = self._root.child(path.lstrip("/"))

        def on_event(event):
            # The first event is a put of the current value at "/"; a reply is
            # written with one set, so it arrives whole in one put at "/".
            if event.event_type == "put" and event.path == "/" and event.data:
                first.offer({"keywords": [], **event.data})  # RTDB drops an empty list

        registration = node.listen(on_event)
        try:
            return first.wait(timeout)
        finally:
            # close() returns at the stream's next keep-alive: do not make the user wait for it.
            threading.Thread(target=registration.close, daemon=True).start()


class ChatClient:
    def __init__(
        self, ingress_url: str, watcher, user_id: str, session: requests.Session | None = None, secret: str | None = None
    ) -> None:
        self.ingress_url = ingress_url.rstrip("/")
        self.watcher = watcher
        self.user_id = user_id
        self.secret = secret  # the webhook secret: requests are signed with it (None: unsigned)
        self.conversation_id: str | None = None
        self.session = session or requests.Session()
        self.last_message_id: str | None = None
        self._last_reply_at = 0.0
        self._last_rated = False

    def rate(self, reward: float, source: str = "explicit") -> str:
        """Sends ``reward`` for the last reply; returns the feedback id."""
        if not self.last_message_id:
            raise RuntimeError("nothing to rate yet")
        body = {"message_id": self.last_message_id, "reward": reward, "user_id": self.user_id, "source": source}
        accepted = self._post("/v1/feedback", body)
        self._last_rated = True
        return accepted["feedback_id"]

    def _post(self, path: str, body: dict) -> dict:
        """POSTs ``body`` (signed when there is a secret); the 202 answer, or RuntimeError."""
        data = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, data)
        response = self.session.post(f"{self.ingress_url}{path}", data=data, headers=headers, timeout=10)
        accepted = response.json()
        if response.status_code != 202:
            error = accepted.get("error", {})
            hint = ""
            if response.status_code == 401 and not self.secret:
                hint = " (no WEBHOOK_SECRET to sign with: make up AUTH_MODE=required WEBHOOK_SECRET=...)"
            raise RuntimeError(f"{response.status_code} {error.get('code')}: {error.get('message')}{hint}")
        return accepted

    def say(self, line: str, timeout: float = REPLY_TIMEOUT_S) -> Answer:
        if self.last_message_id and not self._last_rated and time.monotonic() - self._last_reply_at < CONTINUATION_WINDOW_S:
            self.rate(CONTINUATION_REWARD, source="continued")
        started = time.perf_counter()
        body = {"user_id": self.user_id, "text": line}
        if self.conversation_id:
            body["conversation_id"] = self.conversation_id
        accepted = self._post("/v1/utterances", body)
        self.conversation_id = accepted["conversation_id"]
        reply = self.watcher.wait(accepted["reply_path"], timeout)
        if reply is None:
            raise TimeoutError(f"no reply at {accepted['reply_path']} after {timeout:.0f}s")
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        self.last_message_id, self._last_reply_at, self._last_rated = accepted["message_id"], time.monotonic(), False
        return Answer(reply["text"], reply["algorithm"], list(reply.get("keywords", [])), elapsed_ms, accepted["message_id"])


def render(answer: Answer) -> str:
    keywords = ", ".join(answer.keywords) or "-"
    return f"bot> {answer.text}\n     [{answer.algorithm} · {answer.elapsed_ms:.0f} ms · keywords: {keywords}]"


def make_watcher(store: str, clients):
    """The reply store's watcher, over the job's clients (``jobs.connect``)."""
    watchers = {
        "firestore": lambda: FirestoreReplyWatcher(clients.firestore),
        "rtdb": lambda: RtdbReplyWatcher(clients.rtdb),
    }
    return watchers[store]()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", help=ENV_HELP)
    parser.add_argument("--user", default=os.environ.get("USER") or "terminal")
    parser.add_argument("--once", metavar="TEXT", help="say one line, print the reply, exit")
    args = parser.parse_args(argv)
    _, clients = connect(args.env)
    client = ChatClient(
        os.environ["INGRESS_URL"], make_watcher(os.environ.get("REPLY_STORE", "firestore"), clients), args.user,
        secret=os.environ.get("WEBHOOK_SECRET") or None,
    )
    if not args.once:
        print("(type + or - to rate the last reply)", file=sys.stderr)
    lines = [args.once] if args.once else _prompt_lines()
    for line in lines:
        if not line.strip():
            continue
        try:
            if line.strip() in RATINGS:
                client.rate(RATINGS[line.strip()])
                print(f"     (rated {RATINGS[line.strip()]:+.0f}: thanks)", flush=True)
                continue
            print(render(client.say(line)), flush=True)
        except (RuntimeError, TimeoutError, requests.RequestException) as error:
            print(f"error: {error}", flush=True)
            if args.once:
                return 1
    return 0


def _prompt_lines():
    while True:
        try:
            yield input("you> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return


if __name__ == "__main__":
    sys.exit(main())
