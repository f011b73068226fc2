"""Where the scorer's CPU goes per utterance, in process, against a running stack.

    make bench-scorer-profile              (the stack of `make run`: corpus seeded, model published)
    PYTHONPATH=. .venv/bin/python bench/scorer_profile.py --env .run/stack.env [--count 200] [--algorithm dual_encoder]

The scorer is built as deployed (``shared/app.py``) in this process, on the
stack's emulators, and handles held-out lines of real conversations
(``jobs.chat_eval``: RealPersonaChat in Japanese, chitchat-dataset in English,
three lines per conversation so later lines have history). A warm-up round
(not counted) loads the dictionary, the model and the candidate cache, as a
running instance has. Then:

1. CPU per utterance: this process's CPU time (all threads: gRPC's included)
   over the counted utterances, with nothing attached.
2. Where it goes: the same number of utterances again with each step of
   ``ScorerService.handle`` wrapped in a CPU timer (``time.process_time``
   before and after; about a microsecond each, so the sum stays near the
   plain figure, unlike a tracing profiler's, which inflates pure-Python
   code several times over). ``--top N`` adds a cProfile listing.

Replies and selection logs go to the stack as usual (the log sink writes
their rows). The numbers are CPU time, so a loaded machine changes them
less than wall-clock times; the stand-ins' CPU is not in them.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import os
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from shared.env_file import load_env_file  # noqa: E402

# The steps of handle(): (object path on the service, method name). Each is
# timed where it is called from handle() or decide(); none nests in another.
STEPS = {
    "conversation read": ("conversations", "read"),
    "decision look-up (redeliveries)": ("decisions", "get"),
    "candidate loading (cache, Firestore)": ("candidates", "load"),
    "filtering (echo, own earlier replies)": (None, "_usable"),
    "look-up by meaning": ("retriever", "nearest"),
    "same meaning as an earlier reply": ("retriever", "same_meaning"),
    "ranking": ("rankers", "get"),  # the ranker's rank(), wrapped on the way out
    "decision record (batch + commit)": ("decisions", "add_create"),
    "conversation write (batch)": ("conversations", "add_exchange"),
    "reply write": ("replies", "write"),
    "selection log publish": ("publisher", "publish"),
}


def lines(count: int, per_conversation: int = 3) -> list[tuple[str, str, str]]:
    """(conversation key, text, lang): Japanese and English held-out lines, interleaved."""
    from jobs.chat_eval import held_out_dialogues

    def take(lang: str):
        for dialogue_id, said in held_out_dialogues(lang):
            for line in said[:per_conversation]:
                yield dialogue_id, line, lang

    picked = itertools.islice(itertools.chain.from_iterable(zip(take("ja"), take("ja"), take("en"))), count)
    return list(picked)


def build():
    from shared import config
    from shared.app import build_scorer_service
    from shared.clients import Clients

    settings = config.load()
    return build_scorer_service(settings, Clients(settings))


def events(work: list[tuple[str, str, str]], run: str, algorithm: str):
    from tests.support import utterance_event

    for key, text, lang in work:
        conversation = f"profile-{run}-{abs(hash(key)) % 10**8}"
        yield utterance_event(conversation, text, lang, algorithm, user_id=f"profile-{run}")


def handle_all(service, work, run: str, algorithm: str) -> None:
    for event in events(work, run, algorithm):
        service.handle(event)


def cpu_per_utterance(service, work, run: str, algorithm: str) -> float:
    started = time.process_time()
    handle_all(service, work, run, algorithm)
    return (time.process_time() - started) * 1000.0 / len(work)


class StepTimer:
    """Wraps each step of one service instance in a CPU timer."""

    def __init__(self, service) -> None:
        self.seconds = dict.fromkeys(STEPS, 0.0)
        for step, (owner_path, method) in STEPS.items():
            owner = service if owner_path is None else getattr(service, owner_path)
            original = getattr(owner, method)
            wrapped = self._ranker_getter(step, original) if method == "get" and owner_path == "rankers" else self._timed(step, original)
            setattr(owner, method, wrapped)
        self._wrap_commits(service)

    def _timed(self, step: str, function):
        def run(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[step] += time.process_time() - started

        return run

    def _ranker_getter(self, step: str, get):
        def run(name):
            ranker = get(name)
            timed = self._timed(step, ranker.rank)

            class Timed:
                rank = staticmethod(timed)

            return Timed()

        return run

    def _wrap_commits(self, service) -> None:
        """The batch's commit belongs to the decision record. The decision
        store makes and commits the batch (``create_or_replay``), so its
        client is wrapped: a bench may reach inside what it measures."""
        store = service.decisions
        db, make_batch = store._db, store._db.batch

        def batch():
            made = make_batch()
            made.commit = self._timed("decision record (batch + commit)", made.commit)
            return made

        store._db = type("TimedDb", (), {"batch": staticmethod(batch), "__getattr__": lambda _, n: getattr(db, n)})()


def steps(service, work, run: str, algorithm: str) -> tuple[float, dict[str, float]]:
    """Total ms per utterance, and ms per utterance of each step."""
    timer = StepTimer(service)
    total = cpu_per_utterance(service, work, run, algorithm)
    per = {step: seconds * 1000.0 / len(work) for step, seconds in timer.seconds.items()}
    per["other (tokenising, JSON, logging, ...)"] = max(0.0, total - sum(per.values()))
    return total, per


def profile(service, work, run: str, algorithm: str) -> pstats.Stats:
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    handle_all(service, work, run, algorithm)
    profiler.disable()
    return pstats.Stats(profiler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", type=Path, default=REPO / ".run" / "stack.env")
    parser.add_argument("--count", type=int, default=150, help="counted utterances")
    parser.add_argument("--warm-up", type=int, default=30)
    parser.add_argument("--algorithm", default="dual_encoder", help="the ranker every event names")
    parser.add_argument("--top", type=int, default=0, help="also print the profile's top N functions")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    load_env_file(args.env)
    import logging

    logging.disable(logging.INFO)  # the stack's functions log; this process's log lines are not the point

    work = lines(args.warm_up + 2 * args.count + (args.count if args.top else 0))
    warm, plain, timed = work[: args.warm_up], work[args.warm_up : args.warm_up + args.count], work[args.warm_up + args.count :]
    run = os.urandom(4).hex()
    service = build()
    handle_all(service, warm, run, args.algorithm)
    cpu_ms = cpu_per_utterance(service, plain, run, args.algorithm)
    if args.top:
        stats = profile(service, timed[args.count :], run, args.algorithm)
    timed_ms, per_step = steps(service, timed[: args.count], run, args.algorithm)
    result = {
        "algorithm": args.algorithm,
        "utterances": args.count,
        "cpu_ms_per_utterance": round(cpu_ms, 2),
        "timed_ms_per_utterance": round(timed_ms, 2),
        "steps_ms_per_utterance": {k: round(v, 2) for k, v in per_step.items()},
        "load_average": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(f"scorer, {args.algorithm}, {args.count} utterances: {cpu_ms:.2f} ms CPU per utterance")
        print(f"with step timers: {timed_ms:.2f} ms per utterance, of which")
        for step, ms in sorted(per_step.items(), key=lambda kv: -kv[1]):
            print(f"  {step:<40} {ms:6.2f} ms  {100 * ms / timed_ms if timed_ms else 0:5.1f} %")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.top:
        stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
