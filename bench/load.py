"""Load on ingress: rising rates for fixed durations, on loopback, on a stack of its own.

For each rate, utterances are POSTed at that rate (open loop) for
``--duration`` seconds, into fresh conversations of ``--lines-per-conversation``
lines (8); the reply of each is awaited by a Firestore listener on its
conversation's replies, as a chat client would. Reported per rate: accepted
rate (202s per second), error rate (non-202 answers and failed sends), late
(accepted, reply not seen within ``--timeout``), reply latency p50/p90/p99/max
(POST to reply visible), and the CPU milliseconds per utterance of each stack
process and of this client (from /proc). Each stack process's memory (RSS of
its whole process group) is shown before and after the run. The platform floor (publish -> push -> no-op write
-> listener) is measured in the same run, with bench/e2e_latency.py's code.

    make bench-load
    PYTHONPATH=. .venv/bin/python -m infra.local.bench_stack load --rates 5,10,20,40 --duration 10 [--port-base 8940] [--json]

The verdict line names the highest rate with no errors, nothing lost and p99
under one second. The numbers are for this machine only: the emulators, the
functions and this client share its cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))

import e2e_latency as e2e  # noqa: E402  (the floor path and the measuring code)
from google.cloud import firestore  # noqa: E402

from procs import cpu_s, group_rss_kib  # noqa: E402

if TYPE_CHECKING:
    from running_stack import RunningStack, StartStack

P99_LIMIT_MS = 1000.0


def memory(stack: RunningStack) -> dict[str, int]:
    return {name: group_rss_kib(pid) // 1024 for name, pid in sorted(stack.pids.items())}


@dataclass(frozen=True)
class Step:
    rate: float
    sent: int
    accepted_per_s: float
    errors: int
    error_rate: float
    lost: int
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per utterance, each stack process (from /proc)

    @property
    def clean(self) -> bool:
        return self.errors == 0 and self.lost == 0 and self.p99 is not None and self.p99 < P99_LIMIT_MS


def run_step(send, arrivals, rate: float, duration_s: float, timeout_s: float) -> Step:
    count = max(2, int(rate * duration_s))
    errors = {"n": 0}

    def counted(number: int):
        try:
            return send(number)
        except Exception:
            errors["n"] += 1
            raise

    latencies = e2e.measure(counted, arrivals, count, rate, timeout_s)
    summary = e2e.Summary.of(latencies)
    accepted = count - errors["n"]
    return Step(
        rate=rate, sent=count, accepted_per_s=round(accepted / duration_s, 1), errors=errors["n"],
        error_rate=round(errors["n"] / count, 4), lost=summary.lost - errors["n"],
        p50=summary.p50, p90=summary.p90, p99=summary.p99, max=summary.max,
    )


def render(steps: list[Step], floor: e2e.Summary, before: dict, after: dict) -> str:
    def ms(value):
        return "-" if value is None else f"{value:.0f}"

    lines = [f"{'rate/s':>7}{'sent':>6}{'acc/s':>7}{'err%':>6}{'late':>5}{'p50':>7}{'p90':>7}{'p99':>7}{'max':>7}  (ms)"]
    for s in steps:
        lines.append(f"{s.rate:>7g}{s.sent:>6}{s.accepted_per_s:>7}{s.error_rate * 100:>6.1f}{s.lost:>5}"
                     f"{ms(s.p50):>7}{ms(s.p90):>7}{ms(s.p99):>7}{ms(s.max):>7}")
    lines.append(f"{'floor':>7}{floor.count:>6}{'':>7}{'':>6}{floor.lost:>5}{ms(floor.p50):>7}{ms(floor.p90):>7}{ms(floor.p99):>7}{ms(floor.max):>7}")
    clean = [s.rate for s in steps if s.clean]
    best = max(clean) if clean else None
    lines.append(f"highest rate with zero errors and p99 < {P99_LIMIT_MS:.0f} ms: "
                 + (f"{best:g}/s" if best is not None else "none of the rates"))
    for s in steps:
        lines.append(f"CPU ms per utterance at {s.rate:g}/s: " + ", ".join(f"{name} {ms}" for name, ms in s.cpu_ms.items()))
    lines.append("memory (RSS MiB, before -> after): "
                 + ", ".join(f"{name} {before.get(name, 0)} -> {after.get(name, 0)}" for name in sorted(after)))
    return "\n".join(lines)


class Conversations:
    """Fresh conversations for ``count`` utterances, ``--lines-per-conversation`` each,
    with a listener on each one's replies (registered before anything is sent).

    The Firestore emulator answers a change under a collection listener by
    sending the listener's whole result again (checked: 20 replies written one
    by one into a watched collection made it send 210 documents), where
    Firestore sends the change alone. A run that kept adding lines to the
    same ten conversations made the emulator's work per reply, and this
    process's, grow with everything sent before."""

    def __init__(self, db, ingress_url: str, count: int, args) -> None:
        run_id = uuid.uuid4().hex[:8]
        users = max(1, math.ceil(count / args.lines_per_conversation))
        self.send = e2e.utterance_sender(ingress_url, run_id, args.timeout, users=users)
        self.replies = e2e.listen(db, [e2e.reply_collection(e2e.conversation_id(run_id, u)) for u in range(users)])

    def close(self) -> None:
        self.replies.close()


def run(args, start_stack: StartStack) -> dict:
    with start_stack(args.port_base, "load") as stack:
        env = stack.env
        db = firestore.Client(project=stack.project)
        e2e.seed_candidates(db)
        floor_function = e2e.start_floor_function(stack, env)
        try:
            e2e.create_floor_subscription(stack.project, stack.port_base + e2e.FLOOR_PORT_OFFSET)
            floor_docs = e2e.listen(db, [e2e.floor_collection(u) for u in range(e2e.USERS)])
            floor_args = argparse.Namespace(count=args.floor_count, rate=args.floor_rate, timeout=args.timeout)
            floor, _ = e2e.run_path("floor", e2e.floor_sender(stack.project, args.timeout), floor_docs, floor_args)
            floor_docs.close()
            warm_up = Conversations(db, env["INGRESS_URL"], len(e2e.CONVERSATION), args)
            e2e.measure(warm_up.send, warm_up.replies, len(e2e.CONVERSATION), 2.0, e2e.WARM_UP_TIMEOUT_S)  # not counted
            warm_up.close()
            before = memory(stack)
            steps = []
            for rate in args.rates:
                print(f"load: {rate:g}/s for {args.duration:g} s", file=sys.stderr)
                count = max(2, int(rate * args.duration))
                conversations = Conversations(db, env["INGRESS_URL"], count, args)
                cpu_before, own_before = cpu_s(stack.pids), sum(os.times()[:2])
                step = run_step(conversations.send, conversations.replies, rate, args.duration, args.timeout)
                used = {name: seconds - cpu_before.get(name, 0.0) for name, seconds in cpu_s(stack.pids).items()}
                used["bench client"] = sum(os.times()[:2]) - own_before
                steps.append(replace(step, cpu_ms={name: round(1000 * s / step.sent, 1) for name, s in sorted(used.items())}))
                conversations.close()
            after = memory(stack)
            return {"steps": steps, "floor": floor, "before": before, "after": after}
        finally:
            e2e.stop_process_group(floor_function)


def main(argv, start_stack: StartStack) -> int:
    """Runs on a stack ``start_stack`` starts (the bench launcher's)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", type=lambda v: [float(x) for x in v.split(",")], default=[5, 10, 20, 40])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds at each rate")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds after which a reply is lost")
    parser.add_argument("--lines-per-conversation", type=int, default=8,
                        help="each rate starts fresh conversations of this many lines (see Conversations)")
    parser.add_argument("--floor-count", type=int, default=50)
    parser.add_argument("--floor-rate", type=float, default=10.0)
    parser.add_argument("--port-base", type=int, default=8940)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    result = run(args, start_stack)
    if args.json:
        print(json.dumps({**result, "steps": [asdict(s) for s in result["steps"]], "floor": asdict(result["floor"])}, indent=2))
    else:
        print(render(result["steps"], result["floor"], result["before"], result["after"]))
    return 0


if __name__ == "__main__":
    sys.exit("needs a local stack: run it through the bench launcher (make bench-load)")
