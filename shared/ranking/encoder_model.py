"""One published dual-encoder version, loaded and scoring, without TensorFlow.

A published version (see jobs/train/publish.py) is a folder in the model store:

- ``manifest.json``: version, n-gram settings, the embedding size;
- ``context_encoder.tflite``, ``reply_encoder.tflite``: one text's n-gram ids
  to its unit vector, run by ai-edge-litert (starts in a fraction of a second,
  no TensorFlow import);
- ``candidates.npz``: the reply texts of every ``candidates/{keyword}``
  document and their precomputed embeddings;
- ``lexical.npz`` (versions that have it): the lexical prior
  (``lexical_prior.py``), its idf table and each candidate's TF-IDF row; the
  manifest's ``lexical_weight`` (chosen on the validation split) says how
  much it counts.

A request is one context encoding plus one matrix-vector product against the
candidates' rows (plus, with the prior, one gather over their TF-IDF rows). A
candidate added after publishing is encoded once and remembered.
"""

from __future__ import annotations

import io
import json
import threading
from typing import Any, Callable, Sequence

import cachetools
import numpy as np

from shared.model_store import ModelStore, open_store
from shared.ranking import Candidate, Context
from shared.ranking.lexical_prior import LexicalPrior, Rows, combine, length_prior, stack_rows, standardised
from shared.ranking.ngrams import NgramConfig, encode
from shared.ranking.packed_texts import PackedTexts, unpack_texts
from shared.text import detect_lang

MANIFEST = "manifest.json"
CONTEXT_ENCODER = "context_encoder.tflite"
REPLY_ENCODER = "reply_encoder.tflite"
CANDIDATES = "candidates.npz"
LEXICAL = "lexical.npz"
# Candidates encoded on the fly (not in the published table), per version.
EXTRA_CACHE_SIZE = 20000
# How much a longer reply counts, against the towers' (and lexical prior's)
# fit, both standardised over the candidates (``lexical_prior.length_prior``).
# Read side by side on the probe conversations, it replaced fragments with
# answers (今日は何してたんですか? -> 「はい元気です」 became 「今日は幼稚園の
# 掃除にいきました。」; 早く休みたいです -> 「早くしないと」 became 「そうですね。
# 土日休みなら有給とるしかないですね。」). Finding the corpus's own reply gets
# harder, as short backchannels are many of them: held-out recall@1 of 10
# (1,500 pairs) went 0.716 -> 0.695 (ja) and 0.496 -> 0.477 (en), @1 of 100
# 0.407 -> 0.399 and 0.266 -> 0.262; at 0.5, 0.666 and 0.466. With the
# previous line (below) the served ranker is level with or above the
# towers alone on 5,000 pairs (docs/ranker.md).
LENGTH_WEIGHT = 0.3
# How much the speaker's line before the one being answered counts in the
# context (``EncoderModel.context_vector``). Held-out recall@1 of 10 with the
# length prior: 0.695 -> 0.709 (ja), 0.477 -> 0.500 (en); flat from 0.3 to
# 0.5, but read on the probes, at 0.5 questions got answered as if asked
# before (食べ物は何がおいしいですか? after a trip to 京都 -> 「京都ですか!
# いっぱいありますよね。お寺とか。」).
PREVIOUS_LINE_WEIGHT = 0.3


def _table_texts(table, name: str, count: int) -> list[str] | None:
    """A text column of ``candidates.npz``: packed, or (older versions) a string array."""
    if f"{name}_utf8" in table.files:
        return unpack_texts(table[f"{name}_utf8"], count)
    return [str(t) for t in table[name]] if name in table.files else None


class _Encoder:
    """A TFLite text encoder; the interpreter is not thread-safe, hence the lock."""

    def __init__(self, model: bytes, ngram: NgramConfig) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_content=model, num_threads=1)
        self._input = self._interpreter.get_input_details()[0]["index"]
        # The export takes any batch size; a request encodes one text.
        self._interpreter.resize_tensor_input(self._input, [1, ngram.max_ids])
        self._interpreter.allocate_tensors()
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._ngram = ngram
        self._lock = threading.Lock()

    def __call__(self, text: str) -> np.ndarray:
        ids = encode([text], self._ngram)
        with self._lock:
            self._interpreter.set_tensor(self._input, ids)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output)[0].copy()


class EncoderModel:
    """One published version, loaded."""

    def __init__(
        self,
        version: str,
        ngram: NgramConfig,
        context_encoder: bytes,
        reply_encoder: bytes,
        texts: Sequence[str],
        vectors: np.ndarray,
        lexical: tuple[LexicalPrior, Rows] | None = None,
        lexical_weight: float = 0.0,
        contexts: Sequence[str] | None = None,
        length_weight: float = LENGTH_WEIGHT,
        previous_line_weight: float = PREVIOUS_LINE_WEIGHT,
    ) -> None:
        self.version = version
        self.ngram = ngram
        self.encode_context = _Encoder(context_encoder, ngram)
        self.encode_reply = _Encoder(reply_encoder, ngram)
        # Rows stay in published order: reordering them by language (so each
        # language was one slice) copied 180 MB at every cold start. The
        # look-up by meaning scores every row and masks the other language.
        japanese = np.fromiter((detect_lang(t) == "ja" for t in texts), dtype=bool, count=len(texts))
        self._texts = list(texts)
        self._contexts = contexts if contexts is not None else [""] * len(texts)
        self._rows = {t: i for i, t in enumerate(self._texts)}
        self._vectors = np.asarray(vectors, dtype=np.float32)
        self._lang_rows = {"ja": japanese, "en": ~japanese}
        # Reply vectors of texts outside the published table, encoded once.
        self._extra_vector = cachetools.cached(cachetools.LRUCache(EXTRA_CACHE_SIZE), lock=threading.Lock())(self.encode_reply)
        self.lexical, self._lexical_table = lexical or (None, None)
        self.lexical_weight = lexical_weight if lexical else 0.0
        self.length_weight = length_weight
        self.previous_line_weight = previous_line_weight

    @classmethod
    def load(cls, store: ModelStore) -> "EncoderModel":
        manifest = json.loads(store.read(MANIFEST))
        table = np.load(io.BytesIO(store.read(CANDIDATES)), allow_pickle=False)
        lexical = LexicalPrior.from_bytes(store.read(LEXICAL)) if manifest.get("lexical_weight") else None
        vectors = table["vectors"]
        contexts = (PackedTexts(table["contexts_utf8"], len(vectors)) if "contexts_utf8" in table.files
                    else _table_texts(table, "contexts", len(vectors)))
        return cls(
            manifest["version"],
            NgramConfig.from_dict(manifest["ngram"]),
            store.read(CONTEXT_ENCODER),
            store.read(REPLY_ENCODER),
            _table_texts(table, "texts", len(vectors)),
            vectors,
            lexical,
            float(manifest.get("lexical_weight") or 0.0),
            contexts,
        )

    def known(self, text: str) -> bool:
        return text in self._rows

    def table_rows(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's row in the published table; -1 for one added since."""
        return np.fromiter((self._rows.get(t, -1) for t in texts), dtype=np.intp, count=len(texts))

    def reply_vectors(self, texts: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
        rows = self.table_rows(texts) if rows is None else rows
        if not len(rows) or rows.min() >= 0:
            return self._vectors[rows]
        return np.stack([self._vectors[r] if r >= 0 else self._extra_vector(t) for t, r in zip(texts, rows)])

    def lexical_rows(self, texts: Sequence[str], rows: np.ndarray | None = None) -> Rows:
        ids, weights = self._lexical_table
        rows = self.table_rows(texts) if rows is None else rows
        if not len(rows) or rows.min() >= 0:
            return ids[rows], weights[rows]
        return stack_rows([(ids[r], weights[r]) if r >= 0 else self.lexical.cached_row(t) for t, r in zip(texts, rows)])

    def score_parts(self, context: Context, candidate_texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """(the dual encoder's cosines, the lexical prior's or None)."""
        if not candidate_texts:
            return np.zeros(0, dtype=np.float32), None
        rows = self.table_rows(candidate_texts)
        dense = self.reply_vectors(candidate_texts, rows) @ self.context_vector(context)
        if self.lexical is None:
            return dense, None
        query = self.lexical.query(context.turns, context.lang)
        return dense, self.lexical.scores(query, self.lexical_rows(candidate_texts, rows))

    def context_vector(self, context: Context) -> np.ndarray:
        """The line being answered, encoded, plus ``previous_line_weight``
        times the speaker's line before it (``Context.turns[-3]``), each of
        unit length: a line that leaves its topic unsaid (どんなのが好き? after
        ゲームはしますか?) is answered on the topic (「3つ同じ色をそろえて消して
        いくやつです」 instead of 「シュークリームとかパイ系の物が好きですね。」)."""
        vector = _unit(self.encode_context(context_text(context)))
        if self.previous_line_weight and len(context.turns) >= 3 and context.turns[-3]:
            vector = vector + self.previous_line_weight * _unit(self.encode_context(context.turns[-3]))
        return vector

    def scores(self, context: Context, candidate_texts: Sequence[str]) -> np.ndarray:
        dense, lexical = self.score_parts(context, candidate_texts)
        fit = dense if lexical is None else combine(dense, lexical, self.lexical_weight)
        if not self.length_weight or len(candidate_texts) < 2:
            return fit
        return standardised(fit) + self.length_weight * standardised(length_prior(candidate_texts, context.lang))

    def same_meaning(self, texts: Sequence[str], said: Sequence[str], threshold: float) -> list[bool]:
        """Per text: whether its reply vector is at least ``threshold`` (cosine)
        from one of ``said``'s: the same thing in other words."""
        if not texts or not said:
            return [False] * len(texts)
        similarity = self.reply_vectors(texts) @ self.reply_vectors(said).T
        return (similarity.max(axis=1) >= threshold).tolist()

    def nearest(self, context: Context, k: int, min_score: float = -1.0) -> list[Candidate]:
        """Up to ``k`` replies of the context's language closest to it by
        meaning (cosine at least ``min_score``), over the whole published
        table: one context encoding and one matrix-vector product, no
        Firestore read."""
        rows = self._lang_rows.get(context.lang)
        size = int(rows.sum()) if rows is not None else 0
        if size <= 0 or k <= 0:
            return []
        scores = np.where(rows, self._vectors @ self.encode_context(context_text(context)), -np.inf)
        k = min(k, size)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        best = best[scores[best] >= min_score]
        return [Candidate(text=self._texts[r], context=self._contexts[r], source="meaning") for r in best.tolist()]


def loader(make_storage_client: Callable[[], Any]) -> Callable[[str], EncoderModel]:
    """Loads the version stored at a URI (a model store folder): what the
    scorer's ``ModelPointer`` loads when ``models/current`` names it."""
    return lambda uri: EncoderModel.load(open_store(uri, make_storage_client))


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def context_text(context: Context) -> str:
    """The utterance being answered: the model was trained on single turns."""
    return context.turns[-1] if context.turns else ""


