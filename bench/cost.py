"""What one utterance costs: CPU of each process, Firestore operations, Pub/Sub
messages, BigQuery rows, for each reply store, and US dollars per million.

    make bench-cost
    PYTHONPATH=. .venv/bin/python bench/cost.py --count 100 --rate 5 [--stores firestore,rtdb] [--port-base 8960] [--json]

For each reply store a stack of its own starts (``.run/cost-<store>-<port
base>``) with every function pointed at metering proxies of its own
(``infra/local/grpc_meter.py``: one in front of the Firestore emulator, one in
front of the Pub/Sub emulator, per function), so operations are counted at
the wire and attributed to the function that made them. Local BigQuery
counts its ``insertAll`` rows itself (``infra/local/bigquery_server.py``).

Two phases, each after a warm-up that fills the candidate caches and opens
the conversations (a conversation's first line costs more; steady state is
what a million utterances cost):
- cost: ``--count`` utterances at ``--rate``; CPU seconds of each stack
  process from /proc, and every count, per utterance.
- check: the Firestore emulator's own count of documents written and deleted
  (a trigger on every document, ``bench/firestore_events.py``), Pub/Sub
  messages read back from tap subscriptions, and BigQuery rows counted by a
  query, each compared with the proxies' and the meter's counts of the same
  phase. The trigger makes the emulator work more, so CPU is taken from the
  cost phase only.

Counts do not depend on load: the candidate cache and the model pointer
outlive the run (``CANDIDATE_CACHE_TTL_S``, ``MODEL_POINTER_TTL_S``: in
production they are read once per instance per minute, nothing per
utterance), the router is seeded, and every reply is waited for. The
conversations grow through the run (10 of them, 12-13 lines each at the end),
so the scorer reads a full window of recent turns, as in a long chat. CPU seconds per utterance vary a little; rates are not measured here
(``make bench-load``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
from google.api_core import exceptions as api_exceptions  # noqa: E402
from google.auth.credentials import AnonymousCredentials  # noqa: E402
from google.cloud import bigquery, firestore, pubsub_v1  # noqa: E402

import e2e_latency as e2e  # noqa: E402  (the seeded conversation and the fixed-rate sender)
import prices as pricing  # noqa: E402
from firestore_events import WriteEvents  # noqa: E402
from procs import cpu_s  # noqa: E402
from usage import FirestoreUsage, PubSubUsage, PUBSUB_MIN_REQUEST_BYTES  # noqa: E402

from shared.messaging import topology  # noqa: E402
from infra.local.grpc_meter import MeteringProxy  # noqa: E402
from infra.local.stack import Stack, started_stack  # noqa: E402

FUNCTIONS = ("ingress", "scorer", "log_sink")
STAND_INS = ("pubsub", "firestore", "bigquery", "rtdb", "auth")
# Ports past the stack's (+0..+8, the Auth emulator's +12..+14) and the floor function's (+9).
FIRESTORE_METER_OFFSET = {"ingress": 20, "scorer": 21, "log_sink": 22, "client": 23}
PUBSUB_METER_OFFSET = {"ingress": 24, "scorer": 25, "log_sink": 26}
EVENTS_OFFSET = 27
# Topics each utterance is published to, and the push subscriptions (functions) each feeds.
PUSHED_TO = {sub.topic: sub.function for sub in topology.PUSH_SUBSCRIPTIONS}
QUIET_S = 1.5  # nothing counted for this long after the last reply: the run is over
SETTLE_TIMEOUT_S = 120.0


# ----- the metered stack -----------------------------------------------------
class Meters:
    """The proxies and the emulator-side counters of one stack."""

    def __init__(self, port_base: int) -> None:
        firestore_upstream, pubsub_upstream = f"127.0.0.1:{port_base + 1}", f"127.0.0.1:{port_base}"
        self.firestore = {name: MeteringProxy(port_base + offset, firestore_upstream, FirestoreUsage())
                          for name, offset in FIRESTORE_METER_OFFSET.items()}
        self.pubsub = {name: MeteringProxy(port_base + offset, pubsub_upstream, PubSubUsage())
                       for name, offset in PUBSUB_METER_OFFSET.items()}
        self.events = WriteEvents(port_base + EVENTS_OFFSET)

    def start(self, exits: ExitStack) -> None:
        for proxy in [*self.firestore.values(), *self.pubsub.values()]:
            exits.callback(proxy.start().stop)
        exits.callback(self.events.start().stop)

    def service_env(self) -> dict[str, dict[str, str]]:
        return {name: {"FIRESTORE_EMULATOR_HOST": self.firestore[name].address,
                       "PUBSUB_EMULATOR_HOST": self.pubsub[name].address} for name in FUNCTIONS}

    def snapshot(self) -> dict[str, Counter]:
        found = {f"firestore:{n}": p.snapshot() for n, p in self.firestore.items()}
        found.update({f"pubsub:{n}": p.snapshot() for n, p in self.pubsub.items()})
        found["firestore_events"] = self.events.snapshot()
        return found


def bigquery_meter(stack: Stack) -> Counter:
    return Counter(requests.get(f"{stack.url('bigquery')}/local/meter", timeout=10).json())


def bigquery_rows(stack: Stack) -> int:
    """Rows in the selections table, counted by a query: independent of the insert meter."""
    client = bigquery.Client(project=stack.project, credentials=AnonymousCredentials(),
                             client_options={"api_endpoint": stack.url("bigquery")})
    return next(iter(client.query(f"SELECT COUNT(*) FROM `{stack.project}.zatsudan.selections`").result()))[0]


class Taps:
    """A pull subscription on each topic: Pub/Sub's own count of what was published."""

    def __init__(self, stack: Stack) -> None:
        self.project = stack.project
        self.subscriber = pubsub_v1.SubscriberClient()
        self.names = {}
        for topic in PUSHED_TO:
            name = self.subscriber.subscription_path(stack.project, f"cost-tap-{topic}")
            self.subscriber.create_subscription(name=name, topic=f"projects/{stack.project}/topics/{topic}")
            self.names[topic] = name

    def drain(self) -> Counter:
        """Pulls and acknowledges everything waiting: messages and bytes per topic."""
        found: Counter = Counter()
        for topic, name in self.names.items():
            while True:
                try:
                    answer = self.subscriber.pull(request={"subscription": name, "max_messages": 1000}, timeout=3)
                except api_exceptions.DeadlineExceeded:
                    break
                if not answer.received_messages:
                    break
                for received in answer.received_messages:
                    message = received.message
                    size = len(message.data) + len(message.ordering_key.encode()) + sum(
                        len(k.encode()) + len(v.encode()) for k, v in message.attributes.items())
                    found.update({f"messages:{topic}": 1, f"message_bytes:{topic}": size,
                                  "messages": 1, "message_bytes": size})
                self.subscriber.acknowledge(subscription=name, ack_ids=[r.ack_id for r in answer.received_messages])
        return found


# ----- traffic ---------------------------------------------------------------
def utterance_sender(ingress_url: str, run_id: str, sent: list[str]):
    def send(number: int) -> tuple[str, float]:
        user = number % e2e.USERS
        body = {"user_id": f"cost-user-{user}", "conversation_id": e2e.conversation_id(run_id, user),
                "text": e2e.CONVERSATION[number % len(e2e.CONVERSATION)][0]}
        started = time.perf_counter()
        answer = requests.post(f"{ingress_url}/v1/utterances", json=body, timeout=30)
        answer.raise_for_status()
        sent.append(answer.json()["message_id"])
        return answer.json()["message_id"], started

    return send


def send_and_settle(stack: Stack, meters: Meters, send, count: int, rate: float) -> None:
    """Sends ``count`` utterances, then waits until every row reached BigQuery and nothing moves."""
    rows_before = bigquery_meter(stack)["rows:selections"]
    failed = sum(1 for s in e2e.send_at_fixed_rate(send, count, rate) if s is None)
    if failed:
        raise RuntimeError(f"{failed} of {count} utterances were refused: the counts would not be per utterance")
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    last, quiet_since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = (bigquery_meter(stack), meters.snapshot())
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif now[0]["rows:selections"] - rows_before >= count and time.monotonic() - quiet_since >= QUIET_S:
            return
        time.sleep(0.25)
    raise RuntimeError("the run did not settle: not every selection row reached BigQuery")


def listen_to_replies(stack: Stack, meters: Meters, run_id: str, exits: ExitStack) -> None:
    """A chat client's listener per conversation (through the client meter: its reads count)."""
    saved = os.environ["FIRESTORE_EMULATOR_HOST"]
    os.environ["FIRESTORE_EMULATOR_HOST"] = meters.firestore["client"].address  # read once, when the client is made
    try:
        client = firestore.Client(project=stack.project)
    finally:
        os.environ["FIRESTORE_EMULATOR_HOST"] = saved
    exits.callback(client.close)
    arrivals = e2e.listen(client, [e2e.reply_collection(e2e.conversation_id(run_id, u)) for u in range(e2e.USERS)])
    exits.callback(arrivals.close)  # first (last in, first out): a stream closed under a live watch raises in its thread


def rtdb_reply_bytes(stack: Stack, message_ids: list[str]) -> int:
    """JSON bytes of the given replies as stored (and as a listener downloads them, before framing)."""
    tree = requests.get(f"{stack.url('rtdb')}/replies.json", params={"ns": stack.project}, timeout=30).json() or {}
    wanted = set(message_ids)
    return sum(len(json.dumps(reply, separators=(",", ":")).encode())
               for replies in tree.values() for message_id, reply in replies.items() if message_id in wanted)


# ----- one store -------------------------------------------------------------
@dataclass
class Phase:
    count: int
    cpu_s: dict[str, float]
    counts: dict[str, Counter]
    bigquery: Counter
    taps: Counter
    bigquery_rows: int
    message_ids: list[str]


def measured(stack: Stack, meters: Meters, taps: Taps, send, sent: list[str], count: int, rate: float) -> Phase:
    taps.drain()
    sent.clear()
    before = (cpu_s(stack.pids()), meters.snapshot(), bigquery_meter(stack), bigquery_rows(stack))
    send_and_settle(stack, meters, send, count, rate)
    after = (cpu_s(stack.pids()), meters.snapshot(), bigquery_meter(stack), bigquery_rows(stack))
    return Phase(
        count=count,
        cpu_s={name: after[0][name] - before[0].get(name, 0.0) for name in after[0]},
        counts={name: after[1][name] - before[1][name] for name in after[1]},
        bigquery=after[2] - before[2],
        taps=taps.drain(),
        bigquery_rows=after[3] - before[3],
        message_ids=list(sent),
    )


def measure_store(store: str, args) -> dict:
    meters = Meters(args.port_base)
    with ExitStack() as exits:
        meters.start(exits)
        stack = exits.enter_context(started_stack(
            args.port_base, f"cost-{store}", reply_store=store,
            # Counts must not depend on timing: no candidate or model pointer is
            # read again mid-run; the router draws the same.
            extra_env={"CANDIDATE_CACHE_TTL_S": "86400", "MODEL_POINTER_TTL_S": "86400", "ROUTER_SEED": "15"},
            service_env=meters.service_env(),
            service_args={"firestore": [f"--functions_emulator={meters.events.address}"]},
        ))
        e2e.seed_candidates(firestore.Client(project=stack.project))
        run_id = uuid.uuid4().hex[:8]
        if store == "firestore":
            listen_to_replies(stack, meters, run_id, exits)
        taps = Taps(stack)
        sent: list[str] = []
        send = utterance_sender(stack.env()["INGRESS_URL"], run_id, sent)
        print(f"{store}: warm-up", file=sys.stderr)
        send_and_settle(stack, meters, send, 2 * len(e2e.CONVERSATION) + e2e.USERS, args.rate)
        print(f"{store}: cost phase, {args.count} utterances at {args.rate:g}/s", file=sys.stderr)
        cost = measured(stack, meters, taps, send, sent, args.count, args.rate)
        rtdb_bytes = rtdb_reply_bytes(stack, cost.message_ids) if store == "rtdb" else 0
        meters.events.register(stack.host("firestore"), stack.project)
        print(f"{store}: check phase, {args.check_count} utterances with the emulator's write trigger", file=sys.stderr)
        check = measured(stack, meters, taps, send, sent, args.check_count, args.rate)
        return summarise(store, cost, check, rtdb_bytes)


# ----- results ---------------------------------------------------------------
def per_utterance(phase: Phase) -> dict:
    n = phase.count
    firestore_by_function = {name: {k: v / n for k, v in phase.counts[f"firestore:{name}"].items()}
                             for name in FIRESTORE_METER_OFFSET}
    pubsub_by_function = {name: {k: v / n for k, v in phase.counts[f"pubsub:{name}"].items()} for name in PUBSUB_METER_OFFSET}
    return {
        "cpu_ms": {name: 1000.0 * seconds / n for name, seconds in sorted(phase.cpu_s.items())
                   if name in FUNCTIONS or name in STAND_INS},
        "firestore": firestore_by_function,
        "pubsub": pubsub_by_function,
        "pubsub_delivered": {topic: phase.taps[f"messages:{topic}"] / n for topic in PUSHED_TO},
        "bigquery": {k: v / n for k, v in phase.bigquery.items()},
    }


def cross_check(phase: Phase) -> dict[str, tuple[int, int]]:
    """(counted by the meters, counted independently) for each count that must agree."""
    functions = sum((phase.counts[f"firestore:{name}"] for name in FUNCTIONS), Counter())
    published = sum((phase.counts[f"pubsub:{name}"] for name in PUBSUB_METER_OFFSET), Counter())
    events = phase.counts["firestore_events"]
    return {
        "firestore writes": (functions["writes"], events["writes"]),
        "firestore deletes": (functions["deletes"], events["deletes"]),
        "pubsub messages": (published["messages"], phase.taps["messages"]),
        "pubsub message bytes": (published["message_bytes"], phase.taps["message_bytes"]),
        "bigquery rows": (phase.bigquery["rows"], phase.bigquery_rows),
    }


def usage_of(per: dict, cost: Phase, check: Phase, rtdb_bytes: int) -> pricing.Usage:
    functions = sum((Counter(per["firestore"][name]) for name in FIRESTORE_METER_OFFSET), Counter())
    ttl = check.counts["firestore_events"]["ttl_deletes_later"] / check.count
    published = sum((Counter(v) for v in per["pubsub"].values()), Counter())
    # A push delivery is billed like a publish: the message, 1000 bytes at least.
    delivered = sum(max(PUBSUB_MIN_REQUEST_BYTES, cost.taps[f"message_bytes:{topic}"] / max(1, cost.taps[f"messages:{topic}"]))
                    * per["pubsub_delivered"][topic] for topic in PUSHED_TO)
    requests_per = Counter({"ingress": 1.0})
    for topic, function in PUSHED_TO.items():
        requests_per[function] += per["pubsub_delivered"][topic]
    return pricing.Usage(
        cpu_s={name: per["cpu_ms"][name] / 1000.0 for name in FUNCTIONS},
        requests=dict(requests_per),
        firestore={"reads": functions["reads"], "writes": functions["writes"], "deletes": functions["deletes"],
                   "ttl_deletes": ttl},
        pubsub_billed_bytes=published["billed_bytes"] + delivered,
        bigquery_billed_bytes=per["bigquery"].get("billed_bytes", 0.0),
        rtdb_download_bytes=rtdb_bytes / cost.count,
        rtdb_stored_bytes=rtdb_bytes / cost.count,
    )


def summarise(store: str, cost: Phase, check: Phase, rtdb_bytes: int) -> dict:
    per = per_utterance(cost)
    usage = usage_of(per, cost, check, rtdb_bytes)
    return {"store": store, "count": cost.count, "per_utterance": per, "usage": asdict(usage),
            "check": cross_check(check), "check_count": check.count}


def render(results: list[dict], prices: dict) -> str:
    lines = []
    for result in results:
        per = result["per_utterance"]
        lines.append(f"== reply store {result['store']}: per utterance, steady state, {result['count']} utterances")
        lines.append("CPU ms:  " + "  ".join(f"{name} {ms:.1f}" for name, ms in per["cpu_ms"].items()))
        lines.append(f"{'firestore':<11}{'reads':>7}{'writes':>8}{'deletes':>8}{'queries':>8}{'commits':>8}")
        for name, counts in per["firestore"].items():
            lines.append(f"  {name:<9}" + "".join(f"{counts.get(k, 0):>{w}.2f}" for k, w in
                                                  (("reads", 7), ("writes", 8), ("deletes", 8), ("queries", 8), ("commits", 8))))
        for name, counts in per["pubsub"].items():
            if counts:
                lines.append(f"pubsub {name}: {counts.get('messages', 0):.2f} messages, {counts.get('message_bytes', 0):.0f} bytes "
                             f"({counts.get('billed_bytes', 0):.0f} billed)")
        lines.append("pushed: " + ", ".join(f"{topic} {n:.2f}" for topic, n in per["pubsub_delivered"].items()))
        bq = per["bigquery"]
        lines.append(f"bigquery: {bq.get('rows', 0):.2f} rows, {bq.get('row_bytes', 0):.0f} bytes "
                     f"({bq.get('billed_bytes', 0):.0f} billed) in {bq.get('calls', 0):.2f} insertAll calls, "
                     f"{bq.get('writes', 0):.2f} writes to local storage")
        usage = pricing.Usage(**result["usage"])
        if usage.rtdb_stored_bytes:
            lines.append(f"rtdb: {usage.rtdb_stored_bytes:.0f} bytes stored and downloaded per reply")
        lines.append(f"TTL deletes later: {usage.firestore['ttl_deletes']:.2f}")
        lines.append(f"US$ per million utterances (prices as of {prices['as_of']}, bench/prices.toml; check them):")
        for name, dollars in pricing.cost_lines(usage, prices):
            lines.append(f"  {name:<46}{dollars:>10.2f}")
        checks = result["check"]
        agree = all(a == b for a, b in checks.values())
        lines.append(f"cross-check ({result['check_count']} utterances, meters vs emulators): "
                     + ("all agree" if agree else "MISMATCH") + "; "
                     + ", ".join(f"{name} {a}/{b}" for name, (a, b) in checks.items()))
        lines.append("")
    lines.append(f"managed alternatives, list price per million text requests (as of {prices['as_of']}, approximate):")
    for name, dollars in pricing.alternatives(prices):
        lines.append(f"  {name:<60}{dollars:>10,.0f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100, help="utterances in the cost phase")
    parser.add_argument("--check-count", type=int, default=30, help="utterances in the check phase")
    parser.add_argument("--rate", type=float, default=5.0, help="utterances per second")
    parser.add_argument("--stores", type=lambda v: v.split(","), default=["firestore", "rtdb"])
    parser.add_argument("--port-base", type=int, default=8960)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    results = [measure_store(store, args) for store in args.stores]
    prices = pricing.load_prices()
    if args.json:
        for result in results:
            result["dollars_per_million"] = dict(pricing.cost_lines(pricing.Usage(**result["usage"]), prices))
        print(json.dumps({"results": results, "alternatives": dict(pricing.alternatives(prices)), "prices_as_of": prices["as_of"]}))
    else:
        print(render(results, prices))
    return 0 if all(a == b for r in results for a, b in r["check"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
