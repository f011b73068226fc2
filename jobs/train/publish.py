"""Publish a trained model: export, candidate embeddings, ``models/current``.

    python -m jobs.train.publish --trial TRIAL_ID [--env .run/stack.env]

A version is written whole into ``<store>/versions/<version>/`` (the files
shared/ranking/encoder_model.py reads) before the pointer moves, so a scorer
never sees a pointer to half a version. The candidate table holds every reply
text of every ``candidates/{keyword}`` document, embedded by the reply tower.

With the trial's data at hand, a version also carries the lexical prior
(idf of the training replies, each candidate's TF-IDF row) and the weight it
earns next to the dual encoder's score: the one of ``LEXICAL_WEIGHTS`` with
the best mean of R@1/10 and R@1/100 on the validation split (0 when it does
not help).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Iterable

import numpy as np

from jobs import ENV_HELP, connect
from shared.model_store import ModelStore, open_store
from shared.ranking.encoder_model import CANDIDATES, CONTEXT_ENCODER, LEXICAL, MANIFEST, REPLY_ENCODER, EncoderModel
from shared.ranking.packed_texts import pack_texts
from shared.ranking.lexical_prior import LexicalPrior, combine
from shared.ranking.ngrams import NgramConfig, encode
from shared.stores import MODEL_POINTER_COLLECTION, MODEL_POINTER_DOCUMENT, QUERY_RETRY, decode_candidates

LEXICAL_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
VALIDATION_QUERIES = 1000  # per language and candidate count


def candidate_texts(db) -> dict[str, str]:
    """Reply text -> the post it answered, of every keyword's candidates, each reply once."""
    texts: dict[str, str] = {}
    for snapshot in db.collection("candidates").stream(retry=QUERY_RETRY):
        for candidate in decode_candidates(snapshot.to_dict()):
            texts.setdefault(candidate["text"], candidate.get("context", ""))
    return texts


def new_version(trial_id: str, now: dt.datetime | None = None) -> str:
    """Sorts by time; names the trial it came from."""
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{trial_id}"


def choose_lexical_weight(model: EncoderModel, splits: dict, langs: Iterable[str], limit: int = VALIDATION_QUERIES) -> tuple[float, dict]:
    """(the weight, its validation recall by weight): the best mean over
    languages and over R@1/10 and R@1/100; a tie goes to the smaller weight."""
    from jobs.train.evaluate import build_queries

    found: dict[float, list[float]] = {w: [] for w in LEXICAL_WEIGHTS}
    for lang in langs:
        for size in (10, 100):
            queries = build_queries(splits, lang, size, limit=limit, split="valid")
            if not queries:
                continue
            hits = {w: 0 for w in LEXICAL_WEIGHTS}
            for query in queries:
                dense, lexical = model.score_parts(query.conversation, query.candidates)
                truth = query.candidates.index(query.reply)
                for weight in LEXICAL_WEIGHTS:
                    hits[weight] += int(np.argmax(combine(dense, lexical, weight)) == truth)
            for weight in LEXICAL_WEIGHTS:
                found[weight].append(hits[weight] / len(queries))
    recall = {w: round(float(np.mean(r)), 4) if r else 0.0 for w, r in found.items()}
    return max(LEXICAL_WEIGHTS, key=lambda w: (recall[w], -w)), recall


def export_version(
    keras_model,
    store: ModelStore,
    version: str,
    ngram: NgramConfig,
    texts: Iterable[str] | dict[str, str],
    metadata: dict,
    splits: dict | None = None,
) -> str:
    """Writes the version's files; returns its URI (what the pointer names).
    ``texts`` are the candidate replies, or reply -> the post it answered
    (the table then serves the scorer's look-up by meaning with contexts).
    ``splits`` (the trial's data) adds the lexical prior and its weight."""
    from jobs.train import model as model_lib

    context_tower, reply_tower = model_lib.towers(keras_model)
    contexts = texts if isinstance(texts, dict) else {}
    texts = list(dict.fromkeys(texts))
    vectors = model_lib.embed(reply_tower, encode(texts, ngram)) if texts else np.zeros((0, 1), np.float32)
    folder = store.child(f"versions/{version}")
    encoders = model_lib.to_tflite(context_tower), model_lib.to_tflite(reply_tower)
    folder.write(CONTEXT_ENCODER, encoders[0])
    folder.write(REPLY_ENCODER, encoders[1])
    folder.write(CANDIDATES, model_lib.npz_bytes(
        texts_utf8=pack_texts(texts), vectors=vectors, contexts_utf8=pack_texts([contexts.get(t, "") for t in texts])
    ))
    manifest = {"version": version, "ngram": ngram.to_dict(), "candidates": len(texts), **metadata}
    if splits is not None:
        prior = LexicalPrior.fit(p.reply for p in splits["train"])
        table = prior.rows(texts)
        folder.write(LEXICAL, prior.to_bytes(table))
        model = EncoderModel(version, ngram, *encoders, texts, vectors, (prior, table), lexical_weight=1.0)
        langs = sorted({p.lang for p in splits["valid"]})
        manifest["lexical_weight"], manifest["lexical_validation"] = choose_lexical_weight(model, splits, langs)
    folder.write(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode())  # last: marks it complete
    store.write("LATEST", version.encode())
    return folder.url


def point_to(db, version: str, uri: str, metadata: dict) -> None:
    db.collection(MODEL_POINTER_COLLECTION).document(MODEL_POINTER_DOCUMENT).set(
        {"version": version, "uri": uri, "published_at": dt.datetime.now(dt.timezone.utc), **metadata}
    )


def publish_trial(db, store: ModelStore, trial: dict) -> dict:
    """Exports a finished trial's best checkpoint (on validation recall) and moves ``models/current``."""
    from jobs.train import model as model_lib
    from jobs.train.trials import checkpoint_store

    checkpoints = checkpoint_store(store, trial["trial_id"])
    state = json.loads(checkpoints.read("state.json"))
    keras_model = model_lib.from_bytes(checkpoints.read((state.get("best") or state)["model"]))
    version = new_version(trial["trial_id"])
    metadata = {
        "trial_id": trial["trial_id"],
        "run_id": trial.get("run_id", ""),
        "val_recall_at_1": trial.get("val_recall_at_1"),
        "hparams": trial["hparams"],
        "data": trial["data"],
    }
    from jobs.train.data import DataSpec, load_pairs

    splits = load_pairs(DataSpec.from_dict(trial["data"]))
    uri = export_version(keras_model, store, version, NgramConfig.from_dict(trial["ngram"]), candidate_texts(db), metadata, splits)
    point_to(db, version, uri, {"trial_id": trial["trial_id"], "val_recall_at_1": trial.get("val_recall_at_1")})
    return {"version": version, "uri": uri}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trial", required=True, help="a finished trial id (trials/{id} in Firestore)")
    parser.add_argument("--env", help=ENV_HELP)
    args = parser.parse_args(argv)
    from jobs.train import model as model_lib

    settings, clients = connect(args.env)
    model_lib.configure_threads(1)
    db = clients.firestore
    trial = db.collection("trials").document(args.trial).get().to_dict()
    if not trial or trial.get("status") != "done":
        print(f"error: trial {args.trial!r} is not finished", file=sys.stderr)
        return 1
    print(json.dumps(publish_trial(db, open_store(settings.model_store, lambda: clients.storage), trial)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
