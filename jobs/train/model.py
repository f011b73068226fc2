"""The dual encoder in Keras (TensorFlow backend): the only module that imports TF.

Each tower: hashed n-gram ids (chars, words, word pairs) -> embedding ->
pooled (weighted by a learned per-n-gram weight, or a plain mean) ->
residual MLP -> unit vector. Training scores every context of a batch against
every reply of the batch (dot products times a scale, fixed or learned) and
asks a softmax to pick the true reply: the other replies are the negatives.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence
import numpy as np

from shared.ranking.ngrams import NgramConfig


def configure_threads(threads: int = 1) -> None:
    """Few threads: the machine is shared. Must run before TF starts its pools."""
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", str(threads))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # already initialised in this process


@dataclass(frozen=True)
class HParams:
    embedding_dim: int = 64
    hidden_dim: int = 128
    learning_rate: float = 3e-3
    batch_size: int = 128
    scale: float = 20.0
    dropout: float = 0.1
    # One n-gram table for both towers: a context and a reply that share
    # n-grams start out close, the prior TF-IDF lives on; the towers' MLPs
    # then learn what answers what.
    shared_embedding: bool = True
    epochs: int = 4
    # The scale starts at ``scale`` and is learned (as its log) when set:
    # how peaked the in-batch softmax should be is found, not guessed.
    learn_scale: bool = False
    # Residual feed-forward blocks per tower after the pooled n-grams.
    blocks: int = 1
    # "mean" of the n-gram embeddings, or "weighted": a learned weight per
    # n-gram bucket (softmax over the text's n-grams) decides how much each
    # counts, a learned IDF: "the" should count less than "guitar".
    pooling: str = "weighted"
    # Share of n-gram ids blanked in each training text: with so few pairs
    # per n-gram, a tower must not lean on any single one of them.
    ngram_dropout: float = 0.2
    # Stop after this many epochs without a better validation recall (0:
    # train every epoch); the best epoch is the one published.
    patience: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "HParams":
        known = cls.__dataclass_fields__
        return cls(**{k: _coerce(type(getattr(cls, k)), v) for k, v in data.items() if k in known})


def _coerce(kind: type, value):
    return value if kind is bool else kind(value)


def _layers():
    """Custom layers, defined on first use so that importing this module stays cheap."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="zatsudan")
    class MaskedMean(keras.layers.Layer):
        """Mean of the embeddings of non-padding ids; an all-padding row gives
        zeros, not NaN (the count is at least 1)."""

        def call(self, embedded, ids):
            mask = ops.expand_dims(ops.cast(ops.greater(ids, 0), embedded.dtype), -1)
            total = ops.sum(embedded * mask, axis=1)
            count = ops.maximum(ops.sum(mask, axis=1), 1.0)
            return total / count

    @keras.saving.register_keras_serializable(package="zatsudan")
    class UnitNormalize(keras.layers.Layer):
        def call(self, x):
            return x / ops.sqrt(ops.maximum(ops.sum(x * x, axis=-1, keepdims=True), 1e-12))

    @keras.saving.register_keras_serializable(package="zatsudan")
    class ScaledDot(keras.layers.Layer):
        """[contexts, replies] -> scale * contexts . replies^T, a [B, B] logit matrix."""

        def __init__(self, scale: float = 20.0, learn_scale: bool = False, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale
            self.learn_scale = learn_scale

        def build(self, *shapes):
            self.log_scale = self.add_weight(
                shape=(), initializer=keras.initializers.Constant(float(np.log(self.scale))),
                trainable=self.learn_scale, name="log_scale",
            )

        def call(self, contexts, replies):
            # Capped: an unbounded scale can run away on easy batches.
            scale = ops.exp(ops.minimum(self.log_scale, float(np.log(100.0))))
            return scale * ops.matmul(contexts, ops.transpose(replies))

        def get_config(self):
            return {**super().get_config(), "scale": self.scale, "learn_scale": self.learn_scale}

    @keras.saving.register_keras_serializable(package="zatsudan")
    class WeightedMean(keras.layers.Layer):
        """Sum of embeddings weighted by a softmax over the non-padding ids'
        learned logits; starts as the plain mean (logits initialised to 0)."""

        def call(self, embedded, logits, ids):
            mask = ops.cast(ops.greater(ids, 0), embedded.dtype)
            logits = ops.squeeze(logits, -1) - 1e4 * (1.0 - mask)
            logits = logits - ops.max(logits, axis=1, keepdims=True)
            weights = ops.exp(logits) * mask
            weights = weights / ops.maximum(ops.sum(weights, axis=1, keepdims=True), 1e-9)
            return ops.sum(embedded * ops.expand_dims(weights, -1), axis=1)

    return MaskedMean, UnitNormalize, ScaledDot, WeightedMean


def _symmetric_loss():
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="zatsudan", name="in_batch_softmax")
    def in_batch_softmax(labels, logits):
        """Pick each context's reply among the batch's replies, and each reply's
        context among the batch's contexts."""
        forward = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        backward = keras.losses.sparse_categorical_crossentropy(labels, ops.transpose(logits), from_logits=True)
        return 0.5 * (forward + backward)

    return in_batch_softmax


def _tower(name: str, ids, hp: HParams, embedding, weight=None):
    """The layers of one tower applied to ``ids``; returns its unit vectors."""
    import keras

    MaskedMean, UnitNormalize, _, WeightedMean = _layers()
    if weight is not None:
        x = WeightedMean(name=f"{name}_mean")(embedding(ids), weight(ids), ids)
    else:
        x = MaskedMean(name=f"{name}_mean")(embedding(ids), ids)
    if hp.dropout:
        x = keras.layers.Dropout(hp.dropout, name=f"{name}_dropout")(x)
    for block in range(hp.blocks):
        suffix = f"_{block}" if block else ""  # the first block keeps its original names
        hidden = keras.layers.Dense(hp.hidden_dim, activation="relu", name=f"{name}_hidden{suffix}")(x)
        residual = keras.layers.Dense(hp.embedding_dim, name=f"{name}_out{suffix}")(hidden)
        x = keras.layers.Add(name=f"{name}_add{suffix}")([x, residual])
    return UnitNormalize(name=f"{name}_unit")(x)


def build(hp: HParams, ngram: NgramConfig):
    """One flat functional model (a layer shared by nested models does not
    survive a ``.keras`` save); ``towers()`` cuts the two encoders out of it."""
    import keras

    _, _, ScaledDot, _ = _layers()

    def embedding(name: str):
        return keras.layers.Embedding(ngram.buckets, hp.embedding_dim, name=name)

    def weight(name: str):
        if hp.pooling != "weighted":
            return None
        return keras.layers.Embedding(ngram.buckets, 1, embeddings_initializer="zeros", name=name)

    shared = embedding("ngram_embedding") if hp.shared_embedding else None
    shared_weight = weight("ngram_weight") if hp.shared_embedding else None
    context_ids = keras.Input((ngram.max_ids,), dtype="int32", name="context_ids")
    reply_ids = keras.Input((ngram.max_ids,), dtype="int32", name="reply_ids")
    contexts = _tower("context", context_ids, hp, shared or embedding("context_embedding"), shared_weight or weight("context_weight"))
    replies = _tower("reply", reply_ids, hp, shared or embedding("reply_embedding"), shared_weight or weight("reply_weight"))
    logits = ScaledDot(hp.scale, hp.learn_scale, name="scaled_dot")(contexts, replies)
    model = keras.Model([context_ids, reply_ids], logits, name="dual_encoder")
    model.compile(
        optimizer=keras.optimizers.Adam(hp.learning_rate),
        loss=_symmetric_loss(),
    )
    return model


def towers(model):
    """(context encoder, reply encoder): ids -> unit vectors, sharing the model's weights."""
    import keras

    return tuple(
        keras.Model(model.get_layer(f"{name}_ids").output, model.get_layer(f"{name}_unit").output, name=f"{name}_tower")
        for name in ("context", "reply")
    )


def train_epoch(model, groups: Sequence[tuple[np.ndarray, np.ndarray, int]], hp: HParams, epoch: int, seed: int) -> float:
    """One epoch over ``groups`` of (contexts, replies, passes), one per language.

    A batch holds one language only: across scripts every negative is
    trivially wrong, and Japanese would learn nothing from English
    negatives. A small group may be passed over more than once per epoch,
    each pass shuffled on its own, so no pair meets itself in a batch. The
    shuffles depend only on (seed, epoch), so a resumed trial sees the same
    batches it would have seen without the interruption.
    """
    import tensorflow as tf

    parts = []
    for group, (contexts, replies, passes) in enumerate(groups):
        batch = min(hp.batch_size, len(contexts))
        if batch < 2:
            continue
        for copy in range(passes):
            parts.append(
                tf.data.Dataset.from_tensor_slices((contexts, replies))
                .shuffle(len(contexts), seed=((seed * 1000 + epoch) * 100 + group) * 100 + copy, reshuffle_each_iteration=False)
                .batch(batch, drop_remainder=True)
            )
    dataset = parts[0]
    for part in parts[1:]:
        dataset = dataset.concatenate(part)
    dataset = dataset.shuffle(100_000, seed=seed * 1000 + epoch, reshuffle_each_iteration=False)
    if hp.ngram_dropout:
        # Stateless, keyed by (seed, epoch, batch): a resumed epoch blanks the same ids.
        def blank(index, pair):
            c, r = pair
            key = tf.stack([tf.cast(seed * 1000 + epoch, tf.int64), index])
            keep_c = tf.random.stateless_uniform(tf.shape(c), key) >= hp.ngram_dropout
            keep_r = tf.random.stateless_uniform(tf.shape(r), key + 1_000_000) >= hp.ngram_dropout
            return tf.where(keep_c, c, 0), tf.where(keep_r, r, 0)

        dataset = dataset.enumerate().map(blank)
    # Label of row i is column i: its own reply among the batch's replies.
    dataset = dataset.map(lambda c, r: ((c, r), tf.range(tf.shape(c)[0])))
    history = model.fit(dataset, epochs=epoch + 1, initial_epoch=epoch, verbose=0)
    return float(history.history["loss"][-1])


def embed(tower, ids: np.ndarray) -> np.ndarray:
    return np.asarray(tower.predict(ids, batch_size=256, verbose=0), dtype=np.float32)


def recall_at_1_of_10(context_vectors: np.ndarray, reply_vectors: np.ndarray, seed: int = 0) -> float:
    """Validation metric: groups of 10 pairs, each context against the
    group's 10 replies (its own and 9 others)."""
    order = np.random.default_rng(seed).permutation(len(context_vectors))
    hits = total = 0
    for start in range(0, len(order) - 9, 10):
        group = order[start : start + 10]
        scores = context_vectors[group] @ reply_vectors[group].T
        hits += int((scores.argmax(axis=1) == np.arange(10)).sum())
        total += 10
    return hits / total if total else 0.0


def validation_recall(model, groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """Mean over languages of recall@1 of 10 (each language ranked among its own)."""
    context_tower, reply_tower = towers(model)
    recalls = [
        recall_at_1_of_10(embed(context_tower, contexts), embed(reply_tower, replies))
        for contexts, replies in groups
        if len(contexts) >= 10
    ]
    return float(np.mean(recalls)) if recalls else 0.0


def to_bytes(model) -> bytes:
    """The whole model with optimizer state (a ``.keras`` file), for checkpoints."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def from_bytes(data: bytes):
    import keras

    _layers(), _symmetric_loss()  # registers the custom objects
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        path.write_bytes(data)
        return keras.models.load_model(path)


def to_tflite(tower) -> bytes:
    """One text's ids [batch, max_ids] -> unit vectors [batch, dim]: builtin ops
    only, so ai-edge-litert serves it without TensorFlow. Through a SavedModel
    export: converting a Keras 3 tower's concrete function directly leaves its
    variables out."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        tower.export(folder, format="tf_saved_model", verbose=False)
        return tf.lite.TFLiteConverter.from_saved_model(folder).convert()


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()
