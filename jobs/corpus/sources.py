"""Conversation data shipped in packages -> rows of the ``posts`` table.

Each source yields ``Pair``s: a post and the turn that answered it. A pair
becomes one row per topic keyword of the post (``shared.text.keywords``, the
code the scorer looks candidates up with), so a row is (keyword, text, reply)
as in the design, and the worker can build ``candidates/{keyword}`` from the
rows of one keyword alone.

| source | where (licence) | language | pairs |
|---|---|---|---|
| real_persona_chat | `data/real_persona_chat/` (CC BY-SA 4.0) | ja | each utterance and the other speaker's answer, 12,861 dialogues (356,520 usable of 374,037: `real_persona_chat.py`) |
| chatterbot | chatterbot-corpus (BSD-3) | en | consecutive turns of its everyday-chat files' conversations (``CHATTERBOT_CHAT_FILES``) but recitations (its Japanese files are machine translations: not used) |
| nagonbot | nagonbot (MIT) | ja | its greeting intents: every pattern x every response (the rest is a persona's trivia) |
| chitchat | chitchat-dataset (MIT) | en | consecutive messages of 7,168 conversations (131,569 pairs); a reply keeps its lines up to ``MAX_REPLY_WORDS`` |

Nothing is downloaded: the data files are read from the repository and the
installed packages (nagonbot and chitchat-dataset are installed without their
code's dependencies; only their data files are read, never imported).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import yaml

from shared import text as textlib

CHATTERBOT_LANGUAGES = {"ja": "japanese", "en": "english"}
# nagonbot intents whose responses announce an action the bot performs
# (play music, look up a word or the date): no use as a chit-chat reply.
NAGONBOT_SKIP_INTENTS = frozenset({"BGM_ON", "BGM_OFF", "辞書", "日付", "曜日"})
# The intents whose lines any chat partner would say: greetings and goodbyes,
# which the real dialogues' replies lack (their session openings are dropped).
NAGONBOT_GREETING_INTENTS = frozenset({"朝あいさつ", "昼あいさつ", "夜あいさつ", "普通あいさつ", "さようなら", "寝るさようなら"})
# chatterbot-corpus conversations that recite a text instead of chatting (the
# Zen of Python, line by line): their lines surfaced as replies to anything
# ("Explicit is better than implicit." to a line about colours).
CHATTERBOT_RECITATION = re.compile(r"zen of python|is better than (ugly|implicit|complex|complicated|nested|dense)", re.I)
# The chatterbot-corpus files of everyday chat. The rest is another bot's
# persona (ai, botprofile, emotion, food: "Actually I eat only electricity."
# to "What should I eat?"), trivia and help-desk answers (tech_support's
# 1,050 conversations): not chit-chat, and questions about the bot have the
# bot's own answers (``shared/persona.py``).
CHATTERBOT_CHAT_FILES = frozenset({"conversations", "greetings", "health"})
# A chitchat-dataset reply is its sender's run of lines, and past about this
# many words the later lines wander off from what they answer; they are left
# out (the first line always stays).
MAX_REPLY_WORDS = 25
# A post's first keywords only: the rest add rows, not topics.
MAX_KEYWORDS_PER_POST = 3


@dataclass(frozen=True)
class Pair:
    post_id: str
    text: str
    reply_text: str
    lang: str
    source: str
    created_at: str | None = None  # ISO 8601, when the source says

    def rows(self) -> list[dict]:
        """One ``posts`` row per topic keyword of the post."""
        keywords = textlib.keywords(self.text, self.lang)[:MAX_KEYWORDS_PER_POST]
        base = {
            "post_id": self.post_id,
            "text": self.text,
            "reply_text": self.reply_text,
            "lang": self.lang,
            "source": self.source,
            "created_at": self.created_at,
        }
        return [{**base, "keyword": keyword} for keyword in keywords]


def package_dir(module: str) -> Path:
    """Where an installed package lives, without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {module!r} is not installed (make deps installs it)")
    return Path(next(iter(spec.submodule_search_locations)))


def _clean(value) -> str:
    return str(value).strip() if value is not None else ""


def chatterbot_pairs(langs: Iterable[str] = ("ja", "en")) -> Iterator[Pair]:
    root = package_dir("chatterbot_corpus") / "data"
    for lang in langs:
        folder = CHATTERBOT_LANGUAGES[lang]
        for path in sorted((root / folder).glob("*.yml")):
            if path.stem not in CHATTERBOT_CHAT_FILES:
                continue
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            source = f"chatterbot-corpus/{folder}/{path.stem}"
            for c, conversation in enumerate(document.get("conversations") or []):
                turns = [_clean(t) for t in conversation if _clean(t)]
                if any(CHATTERBOT_RECITATION.search(t) for t in turns):
                    continue
                for i, (post, reply) in enumerate(zip(turns, turns[1:])):
                    yield Pair(f"{source}:{c}:{i}", post, reply, lang, source)


def nagonbot_pairs(intents: frozenset[str] | None = None) -> Iterator[Pair]:
    """Pairs of every intent (but the bot's commands), or of ``intents`` only."""
    path = package_dir("nagonbot") / "bin" / "data" / "kokoro.json"
    source = "nagonbot/kokoro"
    for intent in json.loads(path.read_text(encoding="utf-8"))["kokoro"]:
        if intent["tag"] in NAGONBOT_SKIP_INTENTS or (intents is not None and intent["tag"] not in intents):
            continue
        patterns = [_clean(p) for p in intent.get("patterns") or [] if _clean(p)]
        responses = [_clean(r) for r in intent.get("responses") or [] if _clean(r)]
        for p, post in enumerate(patterns):
            for r, reply in enumerate(responses):
                yield Pair(f"{source}:{intent['tag']}:{p}:{r}", post, reply, "ja", source)


def _stable_rank(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def chitchat_pairs(limit: int | None = None) -> Iterator[Pair]:
    """Consecutive messages (a message = a sender's run of lines) of each
    conversation but the held-out ones. With ``limit``, a deterministic sample: whole
    conversations in the order of a hash of their ids, until ``limit`` pairs."""
    from jobs.train.data import HELD_OUT, split_of

    path = package_dir("chitchat_dataset") / "dataset.json"
    with open(path, encoding="utf-8") as file:
        conversations = json.load(file)
    # The held-out split is the live evaluation's (see real_persona_chat_pairs).
    ids = [c for c in (sorted(conversations, key=_stable_rank) if limit is not None else conversations) if split_of(f"chitchat/{c}") != HELD_OUT]
    produced = 0
    for conversation_id in ids:
        messages = conversations[conversation_id]["messages"]
        turns = [([_clean(u["text"]) for u in m if _clean(u.get("text"))], m[-1].get("timestamp")) for m in messages]
        for i, ((post_lines, _), (reply_lines, at)) in enumerate(zip(turns, turns[1:])):
            post, reply = _joined(post_lines), _joined(reply_lines, MAX_REPLY_WORDS)
            if limit is not None and produced >= limit:
                return
            if post and reply:
                produced += 1
                yield Pair(f"chitchat/{conversation_id}:{i}", post, reply, "en", "chitchat-dataset", at)


def _joined(lines: list[str], max_words: int | None = None) -> str:
    """A sender's run of chat lines as one text: each line ends a sentence
    ("im doing good. how are you?", not "im doing good how are you?"), and
    with ``max_words`` the lines after that many words are left out."""
    kept: list[str] = []
    words = 0
    for line in lines:
        words += len(line.split())
        if kept and max_words is not None and words > max_words:
            break
        kept.append(line)
    ends = [line[-1].isalnum() and following[0].isalnum() for line, following in zip(kept, kept[1:])]
    return " ".join(f"{line}." if end else line for line, end in zip(kept, [*ends, False]))


def real_persona_chat_pairs(limit: int | None = None) -> Iterator[Pair]:
    """Usable exchanges of RealPersonaChat; with ``limit``, whole dialogues
    in the order of a hash of their ids, until ``limit`` pairs.

    The dialogues of the held-out test split (``jobs/train/data.py``) are
    left out: the live evaluation (``jobs/chat_eval.py``) plays them, and
    their own replies must not be there to be found."""
    from jobs.corpus import real_persona_chat
    from jobs.train.data import HELD_OUT, split_of

    dialogues = [d for d in real_persona_chat.dialogues() if split_of(d.id) != HELD_OUT]
    if limit is not None:
        dialogues.sort(key=lambda d: _stable_rank(d.id))
    for produced, exchange in enumerate(real_persona_chat.exchanges(dialogues)):
        if limit is not None and produced >= limit:
            return
        yield Pair(f"{exchange.dialogue}:{exchange.index}", exchange.post, exchange.reply, "ja", real_persona_chat.SOURCE)


@dataclass(frozen=True)
class SourceSpec:
    name: str
    pairs: Callable[[int | None], Iterator[Pair]]  # (sample limit) -> pairs
    sampled_by_default: bool  # large: make corpus takes a sample unless told --full


SOURCES = {
    "real_persona_chat": SourceSpec("real_persona_chat", real_persona_chat_pairs, True),
    "chatterbot": SourceSpec("chatterbot", lambda limit: chatterbot_pairs(("en",)), False),
    "nagonbot": SourceSpec("nagonbot", lambda limit: nagonbot_pairs(NAGONBOT_GREETING_INTENTS), False),
    "chitchat": SourceSpec("chitchat", chitchat_pairs, True),
}


def pairs(names: Iterable[str], sample: int | None, whole: Iterable[str] = ()) -> Iterator[Pair]:
    """Pairs of the named sources; ``sample`` caps the large ones (None: all)
    but those named in ``whole``."""
    for name in names:
        spec = SOURCES[name]
        yield from spec.pairs(sample if spec.sampled_by_default and name not in whole else None)


def rows(pairs_: Iterable[Pair]) -> Iterator[dict]:
    for pair in pairs_:
        yield from pair.rows()


def write_ndjson(rows_: Iterable[dict], path: Path) -> int:
    """Rows as newline-delimited JSON (the load job's input); returns the count."""
    count = 0
    with open(path, "w", encoding="utf-8") as file:
        for row in rows_:
            file.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
