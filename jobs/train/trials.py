"""Trials: hyperparameter sets, their checkpoints, and their records.

A trial is a message on the ``train-trials`` topic (JSON, below). Its
progress lives in two places that outlive any worker:

- the model store, ``checkpoints/{trial_id}/``: ``epoch-{n}.keras`` (weights
  and optimizer state after n epochs) and ``state.json`` (which epoch file is
  the latest, the metric history), written in that order, so ``state.json``
  never names a file that is not there;
- Firestore ``trials/{trial_id}``: status, epochs done, metrics, and every
  attempt (worker, epoch it resumed from), for people and for the runner.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field

from jobs.train.data import DataSpec
from jobs.train.model import HParams
from shared.model_store import ModelStore
from shared.ranking.ngrams import NgramConfig
from shared.stores import QUERY_RETRY

# The search space: each trial draws one value per knob (seeded).
SEARCH_SPACE = {
    "embedding_dim": [64, 96],
    "hidden_dim": [128, 256],
    "learning_rate": [2e-3, 4e-3],
    "batch_size": [128, 256],
    "scale": [15.0, 20.0, 30.0],
    "ngram_dropout": [0.1, 0.2, 0.3],
}
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Trial:
    trial_id: str
    run_id: str
    hparams: HParams
    data: DataSpec = field(default_factory=DataSpec)
    ngram: NgramConfig = field(default_factory=NgramConfig)

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "trial_id": self.trial_id,
            "run_id": self.run_id,
            "hparams": self.hparams.to_dict(),
            "data": self.data.to_dict(),
            "ngram": self.ngram.to_dict(),
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict()).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "Trial":
        """Raises ValueError (or KeyError/TypeError) on a malformed message."""
        body = json.loads(data)
        if body.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"unknown trial schema_version {body.get('schema_version')!r}")
        return cls(
            trial_id=str(body["trial_id"]),
            run_id=str(body["run_id"]),
            hparams=HParams.from_dict(body["hparams"]),
            data=DataSpec.from_dict(body["data"]),
            ngram=NgramConfig.from_dict(body["ngram"]),
        )


def propose(run_id: str, count: int, epochs: int, data: DataSpec, seed: int = 0, ngram: NgramConfig | None = None) -> list[Trial]:
    """``count`` distinct hyperparameter sets (the first is the defaults)."""
    rng = random.Random(seed)
    seen: set[tuple] = set()
    trials: list[Trial] = []
    candidates = [HParams(epochs=epochs)]
    while len(candidates) < count * 20:
        candidates.append(HParams(**{k: rng.choice(v) for k, v in SEARCH_SPACE.items()}, epochs=epochs))
    for hparams in candidates:
        key = tuple(sorted(hparams.to_dict().items()))
        if key in seen:
            continue
        seen.add(key)
        trials.append(Trial(f"{run_id}-{len(trials)}", run_id, hparams, data, ngram or NgramConfig()))
        if len(trials) == count:
            break
    return trials


def checkpoint_store(store: ModelStore, trial_id: str) -> ModelStore:
    return store.child(f"checkpoints/{trial_id}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class TrialRecords:
    """``trials/{trial_id}`` documents. Each is written by one worker at a time
    (the one holding the lease), so plain merges, no transactions."""

    def __init__(self, db, collection: str = "trials") -> None:
        self._collection = db.collection(collection)

    def queued(self, trial: Trial) -> None:
        self._collection.document(trial.trial_id).set(
            {**trial.to_dict(), "status": "queued", "epochs_done": 0, "attempts": [], "updated_at": _now()}
        )

    def started(self, trial: Trial, worker: str, resumed_from_epoch: int) -> None:
        from google.cloud import firestore

        attempt = {"worker": worker, "resumed_from_epoch": resumed_from_epoch, "started_at": _now()}
        self._collection.document(trial.trial_id).set(
            {
                **trial.to_dict(),
                "status": "running",
                "worker": worker,
                "attempts": firestore.ArrayUnion([attempt]),
                "updated_at": _now(),
            },
            merge=True,
        )
        if resumed_from_epoch:
            self._collection.document(trial.trial_id).set({"resumed_from_epoch": resumed_from_epoch}, merge=True)

    def epoch_done(self, trial: Trial, epochs_done: int, loss: float, val_recall: float) -> None:
        self._collection.document(trial.trial_id).set(
            {"epochs_done": epochs_done, "loss": loss, "val_recall_at_1": val_recall, "updated_at": _now()}, merge=True
        )

    def finished(self, trial: Trial, history: list[dict], best: dict | None = None) -> None:
        """The trial's score is its best epoch's: that epoch is what gets published."""
        fields = {"status": "done", "history": history, "updated_at": _now()}
        if best:
            fields.update(val_recall_at_1=best["val_recall_at_1"], best_epoch=best["epoch"])
        self._collection.document(trial.trial_id).set(fields, merge=True)

    def abandon_others(self, run_id: str) -> list[str]:
        """Marks the unfinished trials of every other run abandoned (a killed
        ``make train`` leaves them queued); returns their ids. One run at a time."""
        from google.cloud.firestore_v1 import FieldFilter

        unfinished = self._collection.where(filter=FieldFilter("status", "in", ["queued", "running"])).stream(retry=QUERY_RETRY)
        abandoned = [s.id for s in unfinished if (s.to_dict() or {}).get("run_id") != run_id]
        for trial_id in abandoned:
            self._collection.document(trial_id).set({"status": "abandoned", "updated_at": _now()}, merge=True)
        return abandoned

    def abandoned(self, trial_id: str) -> bool:
        return (self.get(trial_id) or {}).get("status") == "abandoned"

    def get(self, trial_id: str) -> dict | None:
        snapshot = self._collection.document(trial_id).get()
        return snapshot.to_dict() if snapshot.exists else None

    def of_run(self, run_id: str) -> list[dict]:
        from google.cloud.firestore_v1 import FieldFilter

        return [s.to_dict() for s in self._collection.where(filter=FieldFilter("run_id", "==", run_id)).stream(retry=QUERY_RETRY)]
