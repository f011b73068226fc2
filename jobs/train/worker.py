"""A training worker: leases trials from Pub/Sub, checkpoints every epoch.

    python -m jobs.train.worker [--env .run/stack.env] [--idle-exit-s 60]

One trial at a time, leased from the trials topic's workers subscription by
shared/messaging/lease.py's loop: while a trial trains, a keeper thread
extends the lease; the message is acked only when the trial is done. A
worker that dies stops extending: the message is redelivered after at most
the lease (``topology.LEASE_S``) to another worker, which resumes from the
last checkpoint, so at most one epoch is lost. A message that keeps failing
is moved to the dead-letter topic by the subscription's dead-letter policy.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading

import numpy as np

from jobs import ENV_HELP, connect
from jobs.train.data import Pair, load_pairs
from jobs.train.trials import Trial, TrialRecords, checkpoint_store
from shared.messaging import topology
from shared.messaging.lease import LONG_POLL, LeaseLoop, Outcome
from shared.model_store import ModelStore, open_store
from shared.ranking.ngrams import encode

log = logging.getLogger("jobs.train.worker")


# Passes over a language's pairs per epoch: a language with few pairs (the
# Japanese of chatterbot-corpus alone, before RealPersonaChat) is seen more
# often; one with many is seen once.
SMALL_LANGUAGE_PAIRS = 20_000
SMALL_LANGUAGE_PASSES = 4


def passes(pair_count: int) -> int:
    return SMALL_LANGUAGE_PASSES if pair_count < SMALL_LANGUAGE_PAIRS else 1


def by_language(pairs: list[Pair], trial: Trial) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """lang -> (context ids, reply ids), in a stable order."""
    langs = sorted({p.lang for p in pairs})
    return {
        lang: (
            encode([p.context for p in pairs if p.lang == lang], trial.ngram),
            encode([p.reply for p in pairs if p.lang == lang], trial.ngram),
        )
        for lang in langs
    }


def _stopped_early(state: dict, patience: int) -> bool:
    """No better validation recall in the last ``patience`` epochs (0: never stop)."""
    best = state.get("best")
    return bool(patience and best and state["epochs_done"] - best["epoch"] >= patience)


def train_trial(trial: Trial, store: ModelStore, records: TrialRecords | None, worker: str) -> dict:
    """Trains ``trial`` to its last epoch, resuming from its latest checkpoint.

    Returns the final state (``{"epochs_done", "model", "history"}``).
    """
    from jobs.train import model as model_lib

    checkpoints = checkpoint_store(store, trial.trial_id)
    state = json.loads(checkpoints.read("state.json")) if checkpoints.exists("state.json") else {"epochs_done": 0, "history": []}
    resumed_from = int(state["epochs_done"])
    if records is not None:
        records.started(trial, worker, resumed_from)
    if resumed_from >= trial.hparams.epochs:
        return state  # finished before, but the ack was lost
    log.info("trial %s: epoch %d of %d on %s", trial.trial_id, resumed_from, trial.hparams.epochs, worker)
    splits = load_pairs(trial.data)
    train = [(c, r, passes(len(c))) for c, r in by_language(splits["train"], trial).values()]
    valid = list(by_language(splits["valid"], trial).values())
    if resumed_from:
        model = model_lib.from_bytes(checkpoints.read(state["model"]))
    else:
        model = model_lib.build(trial.hparams, trial.ngram)
    for epoch in range(resumed_from, trial.hparams.epochs):
        if _stopped_early(state, trial.hparams.patience):
            break
        loss = model_lib.train_epoch(model, train, trial.hparams, epoch, trial.data.seed)
        val_recall = model_lib.validation_recall(model, valid)
        name = f"epoch-{epoch + 1}.keras"
        checkpoints.write(name, model_lib.to_bytes(model))
        previous, best = state.get("model"), state.get("best")
        old_best = best and best["model"]
        if best is None or val_recall > best["val_recall_at_1"]:
            best = {"epoch": epoch + 1, "model": name, "val_recall_at_1": round(val_recall, 4)}
        state = {
            "epochs_done": epoch + 1,
            "model": name,
            "best": best,
            "history": [*state["history"], {"epoch": epoch + 1, "loss": round(loss, 4), "val_recall_at_1": round(val_recall, 4), "worker": worker}],
        }
        checkpoints.write("state.json", json.dumps(state).encode())
        # Keep the latest (to resume from) and the best (to publish).
        for stale in {previous, old_best} - {None, name, best["model"]}:
            checkpoints.delete(stale)
        if records is not None:
            records.epoch_done(trial, epoch + 1, loss, val_recall)
        log.info("trial %s: epoch %d loss %.3f val R@1/10 %.3f", trial.trial_id, epoch + 1, loss, val_recall)
    if records is not None:
        records.finished(trial, state["history"], state.get("best"))
    return state


def work(subscriber, subscription: str, store: ModelStore, records: TrialRecords, worker: str, idle_exit_s: float | None = None, stop: threading.Event | None = None) -> int:
    """Leases and trains trials until stopped or idle; returns how many it finished."""

    def work_on(message) -> Outcome:
        try:
            trial = Trial.from_json(message.data)
        except (ValueError, KeyError, TypeError):
            log.error("malformed trial message %s: nacked (dead-lettered after retries)", message.message_id)
            return Outcome.RETURNED
        if records is not None and records.abandoned(trial.trial_id):
            # A trial of a run that was killed and replaced: nobody waits for it.
            log.info("trial %s was abandoned with its run: acknowledged, not trained", trial.trial_id)
            return Outcome.SKIPPED
        train_trial(trial, store, records, worker)  # a failure ends the worker; the lease lapses
        return Outcome.DONE

    loop = LeaseLoop(
        subscriber, subscription, work_on, topology.LEASE_S, LONG_POLL, stop or threading.Event(), worker,
        # Only a trained trial restarts the idle clock.
        activity=frozenset({Outcome.DONE}),
    )
    return loop.run(idle_exit_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", help=ENV_HELP)
    parser.add_argument("--idle-exit-s", type=float, help="exit after this long without a trial")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from jobs.train import model as model_lib

    settings, clients = connect(args.env)
    model_lib.configure_threads(args.threads)
    subscriber = clients.subscriber
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: (stop.set(), sys.exit(0)))
    worker = f"{socket.gethostname()}:{os.getpid()}"
    done = work(
        subscriber,
        subscriber.subscription_path(settings.project, topology.workers_subscription(settings.topics.train_trials)),
        open_store(settings.model_store, lambda: clients.storage),
        TrialRecords(clients.firestore),
        worker,
        args.idle_exit_s,
        stop,
    )
    log.info("worker %s finished %d trial(s)", worker, done)
    return 0


if __name__ == "__main__":
    sys.exit(main())
