"""(context, reply) pairs, split by conversation.

- RealPersonaChat (CC BY-SA 4.0, ``data/real_persona_chat``): 12,861 Japanese
  dialogues; each usable exchange (``jobs/corpus/real_persona_chat.py``)
  with the two turns before it as its history.
- chatterbot-corpus (BSD-3): Japanese and English conversations by topic.
- chitchat-dataset (MIT): 7,168 English conversations; consecutive messages
  (a message is one speaker's run of lines, joined with a space).

The split is by conversation, decided by a seeded hash of its id, so no
conversation has pairs on both sides and every run agrees on the split.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Iterator, Sequence

import yaml

from jobs.corpus.real_persona_chat import HISTORY_TURNS  # turns before the answered one that travel with a pair
from shared import text

SPLITS = ("train", "valid", "test")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser is 10x faster
# Shares of conversations per split.
SPLIT_SHARES = {"train": 0.8, "valid": 0.1, "test": 0.1}


@dataclass(frozen=True)
class Pair:
    context: str  # the utterance the reply answered
    reply: str
    lang: str
    conversation: str  # source-qualified id: the unit of the split
    history: tuple[str, ...] = ()  # turns before ``context``, oldest first


# The split no stage may learn from: evaluation only.
HELD_OUT = "test"
# The split seed everything agrees on by default (training, the reply corpus, the live evaluation).
SPLIT_SEED = 13


def split_of(conversation: str, seed: int = SPLIT_SEED) -> str:
    """train / valid / test for a conversation, stable for a seed."""
    digest = hashlib.sha256(f"{seed}:{conversation}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for name in SPLITS:
        edge += SPLIT_SHARES[name]
        if point < edge:
            return name
    return SPLITS[-1]


def _turn_pairs(turns: Sequence[str], lang: str, conversation: str) -> Iterator[Pair]:
    cleaned = [text.normalize(t) for t in turns if t and t.strip()]
    for i in range(1, len(cleaned)):
        yield Pair(cleaned[i - 1], cleaned[i], lang, conversation, tuple(cleaned[max(0, i - 1 - HISTORY_TURNS) : i - 1]))


def real_persona_chat_pairs(max_dialogues: int | None = None, seed: int = 0) -> Iterator[Pair]:
    """Japanese pairs of RealPersonaChat; ``max_dialogues`` takes a seeded sample."""
    from jobs.corpus import real_persona_chat

    dialogues = list(real_persona_chat.dialogues())
    if max_dialogues is not None and max_dialogues < len(dialogues):
        dialogues = sorted(random.Random(seed).sample(dialogues, max_dialogues), key=lambda d: d.id)
    for exchange in real_persona_chat.exchanges(dialogues):
        yield Pair(exchange.post, exchange.reply, "ja", exchange.dialogue, exchange.history)


def chatterbot_pairs(lang: str) -> Iterator[Pair]:
    from jobs.corpus.sources import CHATTERBOT_LANGUAGES, package_dir

    folder = CHATTERBOT_LANGUAGES[lang]
    for path in sorted((package_dir("chatterbot_corpus") / "data" / folder).glob("*.yml")):
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
        for index, conversation in enumerate(document.get("conversations", [])):
            turns = [str(t) for t in conversation if t is not None]
            yield from _turn_pairs(turns, lang, f"chatterbot/{folder}/{path.stem}/{index}")


def chitchat_pairs(max_conversations: int | None = None, seed: int = 0) -> Iterator[Pair]:
    """English pairs; ``max_conversations`` takes a seeded sample of them."""
    import chitchat_dataset

    conversations = chitchat_dataset.Dataset()
    ids = sorted(conversations)
    if max_conversations is not None and max_conversations < len(ids):
        ids = sorted(random.Random(seed).sample(ids, max_conversations))
    for conversation_id in ids:
        turns = [" ".join(line["text"] for line in message) for message in conversations[conversation_id]["messages"]]
        yield from _turn_pairs(turns, "en", f"chitchat/{conversation_id}")


@dataclass(frozen=True)
class DataSpec:
    """What a trial trains on; small values keep tests fast."""

    chitchat_conversations: int | None = 7168  # all of chitchat-dataset
    seed: int = SPLIT_SEED
    langs: tuple[str, ...] = ("ja", "en")
    real_persona_chat_dialogues: int | None = None  # None: all 12,861; 0: none

    def to_dict(self) -> dict:
        return {
            "chitchat_conversations": self.chitchat_conversations, "seed": self.seed, "langs": list(self.langs),
            "real_persona_chat_dialogues": self.real_persona_chat_dialogues,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "DataSpec":
        # Specs written before RealPersonaChat was a source had none of it.
        return cls(data.get("chitchat_conversations"), int(data["seed"]), tuple(data["langs"]), data.get("real_persona_chat_dialogues", 0))


def load_pairs(spec: DataSpec) -> dict[str, list[Pair]]:
    """split -> pairs (every language), in a stable order."""
    pairs: list[Pair] = []
    for lang in spec.langs:
        pairs.extend(chatterbot_pairs(lang))
    if "ja" in spec.langs and spec.real_persona_chat_dialogues != 0:
        pairs.extend(real_persona_chat_pairs(spec.real_persona_chat_dialogues, spec.seed))
    if "en" in spec.langs and spec.chitchat_conversations != 0:
        pairs.extend(chitchat_pairs(spec.chitchat_conversations, spec.seed))
    splits: dict[str, list[Pair]] = {name: [] for name in SPLITS}
    for pair in pairs:
        splits[split_of(pair.conversation, spec.seed)].append(pair)
    return splits
