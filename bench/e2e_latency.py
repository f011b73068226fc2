"""End-to-end latency of a chat turn, next to the platform floor, on the local stack.

Two paths run in the same process, one after the other, each with a short
warm-up that is not counted:

- system: POST an utterance to ingress (``/v1/utterances``), then wait until
  the reply document at the answered ``reply_path`` becomes visible to a
  Firestore listener. This is what a chat client waits for.
- floor: publish to the topic ``bench-floor``, whose push subscription calls a
  no-op function (``bench/floor_function``) that writes one document, again
  seen by a listener. No system can beat publish -> push -> write -> listener
  on this platform, so ``system / floor`` says how much of the latency is ours.

Both paths send at a fixed rate (open loop: a slow answer does not delay the
next send) and time from just before the send to the listener's callback. A
message not visible within ``--timeout`` is lost. Each path has one listener
per conversation, registered before anything is sent, so listener setup is
never timed.

The benchmark runs on a stack of its own (``.run/bench-<port base>``, ports
from ``--port-base``, 8900 by default), started and stopped by the bench
launcher (``infra/local/bench_stack.py``), so it never touches a ``make up``
stack (8600) or the tests' (8700). Run it with:

    make bench
    PYTHONPATH=. .venv/bin/python -m infra.local.bench_stack e2e_latency --count 30 --rate 5 [--json]

The numbers are for comparing runs on one machine: the emulators, the
functions and this client share the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import requests
from google.cloud import firestore, pubsub_v1
from google.cloud.firestore_v1.watch import ChangeType

from shared import text
from shared.ranking import Candidate
from shared.replies import reply_path
from shared.stores import CandidateStore

if TYPE_CHECKING:
    from running_stack import RunningStack, StartStack

REPO = Path(__file__).resolve().parents[1]
FLOOR_TOPIC = "bench-floor"
FLOOR_PORT_OFFSET = 9  # the stack uses port_base + 0..6
# Messages rotate over this many users, each in one conversation: replies then
# read real history, and ingress's per-conversation ordering key does not
# serialise the whole run. Each conversation has its own listener, as a chat
# client would; one collection-group listener over all replies instead slows
# the emulator down as documents accumulate, and would be measured too.
USERS = 10
WARM_UP_TIMEOUT_S = 60.0  # the first reply loads the tokenizer dictionary
SENDER_THREADS = 16
READY_TIMEOUT_S = 30.0

# (utterance, replies seeded under each of its keywords), Japanese and English.
CONVERSATION = [
    ("最近ラーメンにはまっています", ["味噌ラーメンが好きです。", "おすすめのお店はありますか？"]),
    ("週末は映画を見に行きました", ["何の映画を見たんですか？", "映画館で見るのはいいですね。"]),
    ("猫を飼っています", ["猫はかわいいですよね。", "名前は何ですか？"]),
    ("明日は雨らしいですね", ["傘を忘れないでください。", "雨の日は家で過ごしたいです。"]),
    ("I watched a great movie last night", ["Which movie was it?", "I love a good film at night."]),
    ("Do you like cats?", ["Cats are wonderful.", "I prefer dogs, honestly."]),
    ("Coffee keeps me going in the morning", ["Same here, two cups at least.", "How do you take your coffee?"]),
    ("The weather has been rainy all week", ["I hope it clears up soon.", "Rainy weeks are good for reading."]),
]


# ----- measuring -------------------------------------------------------------
class Arrivals:
    """When Firestore listeners first saw each document, by document id."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._changed = threading.Condition()
        self._watches = []

    def listen(self, collection) -> None:
        """Adds a listener on ``collection``; returns once it is live."""
        live = threading.Event()

        def on_snapshot(_documents, changes, _read_time) -> None:
            now = time.perf_counter()  # first thing: the callback is the moment of visibility
            with self._changed:
                for change in changes:
                    if change.type == ChangeType.ADDED:
                        self._seen.setdefault(change.document.id, now)
                self._changed.notify_all()
            live.set()  # the first callback is the initial (empty) snapshot

        self._watches.append(collection.on_snapshot(on_snapshot))
        if not live.wait(READY_TIMEOUT_S):
            raise RuntimeError(f"the listener on {collection.id} did not start")

    def close(self) -> None:
        """Stops every listener (each holds a stream the emulator keeps serving)."""
        for watch in self._watches:
            watch.unsubscribe()
        self._watches.clear()

    def wait_for(self, doc_ids: list[str], deadline: float) -> dict[str, float]:
        """Arrival times of ``doc_ids``, waiting until all arrived or ``deadline``."""
        with self._changed:
            self._changed.wait_for(
                lambda: all(d in self._seen for d in doc_ids),
                timeout=max(0.0, deadline - time.perf_counter()),
            )
            return {d: self._seen[d] for d in doc_ids if d in self._seen}


Send = Callable[[int], tuple[str, float]]  # message number -> (document id, time sent)


def send_at_fixed_rate(send: Send, count: int, rate: float) -> list[tuple[str, float] | None]:
    """Calls ``send`` on a fixed schedule; None for a send that failed."""

    def attempt(number: int) -> tuple[str, float] | None:
        try:
            return send(number)
        except Exception as error:  # a failed send is a lost message, not a crash
            print(f"send {number} failed: {error}", file=sys.stderr)
            return None

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=SENDER_THREADS) as pool:
        futures = []
        for number in range(count):
            time.sleep(max(0.0, start + number / rate - time.perf_counter()))
            futures.append(pool.submit(attempt, number))
        return [future.result() for future in futures]


def measure(send: Send, arrivals: Arrivals, count: int, rate: float, timeout_s: float) -> list[float | None]:
    """Latency in ms of each message, None where it was lost."""
    sent = send_at_fixed_rate(send, count, rate)
    delivered = [s for s in sent if s is not None]
    last_sent = max((t for _, t in delivered), default=time.perf_counter())
    seen = arrivals.wait_for([doc_id for doc_id, _ in delivered], deadline=last_sent + timeout_s)

    def latency_ms(entry: tuple[str, float] | None) -> float | None:
        if entry is None:  # the send failed
            return None
        doc_id, sent_at = entry
        arrived = seen.get(doc_id)
        if arrived is None or arrived - sent_at > timeout_s:
            return None
        return (arrived - sent_at) * 1000.0

    return [latency_ms(entry) for entry in sent]


@dataclass(frozen=True)
class Summary:
    count: int
    lost: int
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None

    @classmethod
    def of(cls, latencies: list[float | None]) -> "Summary":
        seen = sorted(x for x in latencies if x is not None)
        if len(seen) < 2:  # quantiles need two points
            only = seen[0] if seen else None
            return cls(len(latencies), len(latencies) - len(seen), only, only, only, only)
        cuts = statistics.quantiles(seen, n=100, method="inclusive")
        return cls(len(latencies), len(latencies) - len(seen), cuts[49], cuts[89], cuts[98], seen[-1])


PERCENTILES = ("p50", "p90", "p99", "max")


def ratios(system: Summary, floor: Summary) -> dict[str, float | None]:
    def ratio(name: str) -> float | None:
        a, b = getattr(system, name), getattr(floor, name)
        return a / b if a is not None and b else None

    return {name: ratio(name) for name in PERCENTILES}


def render_table(system: Summary, floor: Summary) -> str:
    def cell(value: float | None, unit: str = "") -> str:
        shown = "-" if value is None else f"{value:.1f}{unit}"
        return f"{shown:>9}"

    header = f"{'path':<14}{'count':>6}{'lost':>6}" + "".join(f"{name + ' ms':>9}" for name in PERCENTILES)
    rows = [
        f"{name:<14}{s.count:>6}{s.lost:>6}" + "".join(cell(getattr(s, p)) for p in PERCENTILES)
        for name, s in (("system", system), ("floor", floor))
    ]
    by_percentile = ratios(system, floor)
    rows.append(f"{'system/floor':<14}{'':>12}" + "".join(cell(by_percentile[p], "x") for p in PERCENTILES))
    return "\n".join([header, *rows])


# ----- CPU of the stack's processes ---------------------------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
OURS = ("ingress", "scorer", "log_sink")
SETTLE_S = 2.0  # after the last reply: the log sink's rows and the emulators' trailing work


def group_stats(leader: int):
    """(/proc/<pid>, the fields of its stat after the name) of every process in ``leader``'s group."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == leader:  # field 5: process group id
                yield stat.parent, fields
        except (OSError, ValueError, IndexError):
            continue


def group_cpu_s(leader: int) -> float:
    """User + system CPU seconds of the processes in ``leader``'s group (fields 14 and 15)."""
    return sum(int(f[11]) + int(f[12]) for _, f in group_stats(leader)) / CLOCK_TICKS


def cpu_seconds(stack: RunningStack) -> dict[str, float]:
    return {name: group_cpu_s(pid) for name, pid in sorted(stack.pids.items())}


def cpu_per_message_ms(before: dict[str, float], after: dict[str, float], count: int) -> dict[str, float]:
    per = {name: round((after[name] - before[name]) * 1000.0 / count, 2) for name in before if name in after}
    per["ours"] = round(sum(per.get(name, 0.0) for name in OURS), 2)
    return per


def render_cpu(per: dict[str, float]) -> str:
    ours = " + ".join(f"{name} {per.get(name, 0.0):.1f}" for name in OURS)
    stand_ins = ", ".join(f"{name} {ms:.1f}" for name, ms in per.items() if name not in (*OURS, "ours"))
    return f"CPU ms per utterance: {ours} = {per['ours']:.1f} (ours); {stand_ins}"


# ----- the system path -------------------------------------------------------
def seed_candidates(db) -> None:
    store = CandidateStore(db)
    for utterance, replies in CONVERSATION:
        lang = text.detect_lang(utterance)
        for keyword in text.keywords(utterance, lang):
            store.put(keyword, [Candidate(text=reply, context=utterance) for reply in replies], lang)


def conversation_id(run_id: str, user: int) -> str:
    return f"bench-{run_id}-{user}"


def reply_collection(conversation: str) -> str:
    """What a chat client watches: the collection its reply paths lie in."""
    return reply_path("firestore", conversation, "-").rsplit("/", 1)[0]


def utterance_sender(ingress_url: str, run_id: str, timeout_s: float, users: int = USERS) -> Send:
    def send(number: int) -> tuple[str, float]:
        user = number % users
        conversation = conversation_id(run_id, user)
        body = {
            "user_id": f"bench-user-{user}",
            "conversation_id": conversation,
            "text": CONVERSATION[number % len(CONVERSATION)][0],
        }
        sent_at = time.perf_counter()
        answer = requests.post(f"{ingress_url}/v1/utterances", json=body, timeout=timeout_s)
        answer.raise_for_status()
        collection, doc_id = answer.json()["reply_path"].rsplit("/", 1)
        if collection != reply_collection(conversation):
            raise RuntimeError(f"reply_path {answer.json()['reply_path']} is not where the listener watches")
        return doc_id, sent_at

    return send


# ----- the floor path --------------------------------------------------------
def start_floor_function(stack: RunningStack, env: dict[str, str]) -> subprocess.Popen:
    port = stack.port_base + FLOOR_PORT_OFFSET
    if _answers(f"http://127.0.0.1:{port}/"):
        raise RuntimeError(f"port {port} is busy: a floor function left over from an earlier run?")
    log_file = open(stack.logs_dir / "floor.log", "ab")
    process = subprocess.Popen(
        [
            str(REPO / ".venv/bin/functions-framework"),
            f"--source={REPO / 'bench/floor_function/main.py'}",
            "--target=floor",
            "--host=127.0.0.1",
            f"--port={port}",
        ],
        cwd=REPO,
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped with its gunicorn worker
    )
    log_file.close()  # the child holds its own descriptor
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _answers(f"http://127.0.0.1:{port}/"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process_group(process)
            raise RuntimeError(f"floor function did not start; see {stack.logs_dir / 'floor.log'}")
        time.sleep(0.1)
    return process


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=1.0)
        return True
    except requests.RequestException:
        return False


def stop_process_group(process: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=5)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def create_floor_subscription(project: str, push_port: int) -> None:
    topic_path = f"projects/{project}/topics/{FLOOR_TOPIC}"
    pubsub_v1.PublisherClient().create_topic(name=topic_path)
    with pubsub_v1.SubscriberClient() as subscriber:
        subscriber.create_subscription(
            request={
                "name": subscriber.subscription_path(project, f"{FLOOR_TOPIC}-push"),
                "topic": topic_path,
                # The topic path in the URL lets functions-framework build the CloudEvent.
                "push_config": {"push_endpoint": f"http://127.0.0.1:{push_port}/{topic_path}"},
            }
        )


def floor_collection(user: int) -> str:
    """Laid out like the replies: one small collection per user."""
    return f"bench_floor/user-{user}/messages"


def floor_sender(project: str, timeout_s: float) -> Send:
    # One message per batch: the default 10 ms batching window would be timed too.
    publisher = pubsub_v1.PublisherClient(batch_settings=pubsub_v1.types.BatchSettings(max_messages=1))
    topic_path = publisher.topic_path(project, FLOOR_TOPIC)

    def send(number: int) -> tuple[str, float]:
        doc_id = uuid.uuid4().hex
        sent_at = time.perf_counter()
        # The function writes the document whose path it is sent.
        publisher.publish(topic_path, f"{floor_collection(number % USERS)}/{doc_id}".encode()).result(timeout=timeout_s)
        return doc_id, sent_at

    return send


# ----- the run ---------------------------------------------------------------
def listen(db, collection_paths: list[str]) -> Arrivals:
    arrivals = Arrivals()
    for path in collection_paths:
        arrivals.listen(db.collection(path))
    return arrivals


def run_path(name: str, send: Send, arrivals: Arrivals, args: argparse.Namespace, cpu=None) -> tuple[Summary, dict]:
    """The path's latencies; with ``cpu`` (a sampler of the stack's CPU
    seconds), also CPU ms per measured message of each process."""
    print(f"{name}: warm-up, then {args.count} messages at {args.rate}/s", file=sys.stderr)
    # One round of the conversation: first-use costs (clients, dictionary,
    # candidate cache) are paid before the measured messages.
    measure(send, arrivals, len(CONVERSATION), args.rate, WARM_UP_TIMEOUT_S)
    before = cpu() if cpu else {}
    summary = Summary.of(measure(send, arrivals, args.count, args.rate, args.timeout))
    if not cpu:
        return summary, {}
    time.sleep(SETTLE_S)
    return summary, cpu_per_message_ms(before, cpu(), args.count)


def run(args: argparse.Namespace, start_stack: StartStack) -> tuple[Summary, Summary, dict]:
    print(f"starting a stack on port base {args.port_base}", file=sys.stderr)
    with start_stack(args.port_base) as stack:
        env = stack.env
        db = firestore.Client(project=stack.project)
        seed_candidates(db)
        floor_function = start_floor_function(stack, env)
        try:
            create_floor_subscription(stack.project, stack.port_base + FLOOR_PORT_OFFSET)
            run_id = uuid.uuid4().hex[:8]
            replies = listen(db, [reply_collection(conversation_id(run_id, user)) for user in range(USERS)])
            floor_docs = listen(db, [floor_collection(user) for user in range(USERS)])

            floor, _ = run_path("floor", floor_sender(stack.project, args.timeout), floor_docs, args)
            sampler = (lambda: cpu_seconds(stack)) if args.cpu else None
            system, cpu = run_path("system", utterance_sender(env["INGRESS_URL"], run_id, args.timeout), replies, args, sampler)
            return system, floor, cpu
        finally:
            stop_process_group(floor_function)


def main(argv: list[str] | None, start_stack: StartStack) -> int:
    """Runs on a stack ``start_stack`` starts (the bench launcher's)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second on each path")
    parser.add_argument("--count", type=int, default=100, help="measured messages per path")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds after which a message is lost")
    parser.add_argument("--port-base", type=int, default=8900)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--cpu", action="store_true",
                        help="also CPU ms per utterance of each stack process (from /proc) over the measured system messages")
    args = parser.parse_args(argv)
    # `kill` then unwinds like Ctrl-C, so the stack and the floor function stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

    system, floor, cpu = run(args, start_stack)
    load = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        config = {"rate": args.rate, "count": args.count, "timeout_s": args.timeout, "unit": "ms"}
        results = {"config": config, "system": asdict(system), "floor": asdict(floor), "ratio": ratios(system, floor),
                   "load_average": load, **({"cpu_ms_per_utterance": cpu} if cpu else {})}
        print(json.dumps(results, indent=2))
    else:
        print(render_table(system, floor))
        if cpu:
            print(render_cpu(cpu))
        print(f"load average: {' '.join(map(str, load))}")
    return 0


if __name__ == "__main__":
    sys.exit("needs a local stack: run it through the bench launcher (make bench)")
