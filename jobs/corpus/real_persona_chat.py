"""RealPersonaChat (CC BY-SA 4.0, vendored in ``data/real_persona_chat/``):
Japanese chit-chat between people -> exchanges usable out of their dialogue.

Each utterance is answered by the next utterance of the other speaker (the
speakers always alternate in this corpus); the turns before it are its
context. A reply is kept only if it makes sense to someone who was not in the
dialogue: the rules below drop masked names, session openings and closings,
and replies that point back at something the user never said. The rules are
data (``REPLY_RULES``), applied in order; the first that matches names the
drop, and ``usable_exchanges`` counts them for the table in docs/replies.md.

The split unit is the dialogue (``Exchange.dialogue``), so the training and
evaluation code can keep held-out dialogues whole.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from shared import text as textlib

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "real_persona_chat"
DIALOGUES = DATA_DIR / "dialogues.jsonl.gz"
SOURCE = "real-persona-chat"
# Turns before the post that travel with an exchange as its context.
HISTORY_TURNS = 2

_GREETING = r"(こんにち[はわ]|こんばん[はわ]|おはよう(ございます)?|はじめまして|初めまして|どうも)"
_THANKS = r"(ありがとうございま(す|した)|ありがとう)"
_POLITE_END = r"[ー〜~!！。.、,…・ 　wｗ笑]*"

# (rule, pattern, where): ``where`` is "any" (any position) or "closing"
# (the dialogue's last four utterances). Patterns match the NFKC-normalised reply.
REPLY_RULES: tuple[tuple[str, re.Pattern, str], ...] = (
    # Names and other personal details were masked by the corpus: <DT>, <AA>...
    ("masked_token", re.compile(r"<[A-Z]{1,3}>"), "any"),
    # よろしくお願いします: opening a session with a stranger, never a reply in a chat.
    ("session_opening", re.compile(r"よろしく(お願い|おねがい)"), "any"),
    ("greeting_only", re.compile(rf"^((はい|あ|いえ)[、,]?)?{_GREETING}([、,!！。ー〜~ ]*{_GREETING})?{_POLITE_END}$"), "any"),
    # Thanks and goodbyes that end the crowd-work session.
    ("session_closing", re.compile(rf"(失礼(いた)?します|お疲れ(様|さま)|楽しかったです|またお話し|話せてよかった|この辺で|そろそろ|時間になりました|{_THANKS}{_POLITE_END}$)"), "closing"),
    ("thanks_only", re.compile(rf"^((はい|いえいえ|こちらこそ)[、,]?)*{_THANKS}{_POLITE_END}$"), "any"),
    # Pointing back at what the other person said earlier, which a user of the bot never said.
    # (さっき alone is fine: "I just went shopping"; さっきのお話 is not.)
    ("refers_to_earlier", re.compile(r"((さっき|先ほど|先程|前に|最初に)(の|も|お|は|、)?(お?話|言|おっしゃ|書|聞い|伺)|おっしゃって(い)?た|言われて(い)?た|話されて(い)?た)"), "any"),
    # Addressing the crowd-work partner by a handle ("〜さん" right after a masked
    # name is caught above; these are the task's own words).
    ("task_talk", re.compile(r"(ペルソナ|ワーカー|クラウドワーク|この(対話|会話|タスク)|お相手)"), "any"),
)
# How far from the end of a dialogue "closing" rules look.
EDGE_TURNS = 4


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: tuple[str, ...]
    rating: float  # mean of the speakers' 1-5 satisfaction (3.0 if missing)


@dataclass(frozen=True)
class Exchange:
    dialogue: str  # "rpc/<dialogue id>": the unit of every split
    index: int  # the reply's position in the dialogue
    history: tuple[str, ...]  # up to HISTORY_TURNS turns before the post, oldest first
    post: str
    reply: str
    rating: float


def dialogues(path: Path = DIALOGUES) -> Iterator[Dialogue]:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: it is part of the repository (data/real_persona_chat)")
    with gzip.open(path, "rt", encoding="utf-8") as file:
        for line in file:
            record = json.loads(line)
            satisfaction = [e["satisfaction"] for e in record.get("evaluations") or [] if e.get("satisfaction")]
            yield Dialogue(
                id=f"rpc/{record['dialogue_id']}",
                turns=tuple(textlib.normalize(u["text"]) for u in record["utterances"]),
                rating=sum(satisfaction) / len(satisfaction) if satisfaction else 3.0,
            )


def drop_reason(reply: str, index: int, length: int) -> str | None:
    """The first rule that makes ``reply`` (turn ``index`` of ``length``) unusable, or None."""
    if not reply:
        return "empty"
    for rule, pattern, where in REPLY_RULES:
        if where == "closing" and index < length - EDGE_TURNS:
            continue
        if pattern.search(reply):
            return rule
    return None


def exchanges(dialogues_: Iterable[Dialogue], drops: Counter | None = None) -> Iterator[Exchange]:
    """Every usable (post, reply) of the dialogues; ``drops`` counts the rest by rule.

    A post is never a masked or empty turn either: a reply to "<DT>さんは?" is
    an answer to a question nobody can ask."""
    for dialogue in dialogues_:
        turns, n = dialogue.turns, len(dialogue.turns)
        for i in range(1, n):
            reason = drop_reason(turns[i], i, n)
            if reason is None and (not turns[i - 1] or REPLY_RULES[0][1].search(turns[i - 1])):
                reason = "masked_post"
            if reason is not None:
                if drops is not None:
                    drops[reason] += 1
                continue
            yield Exchange(
                dialogue=dialogue.id,
                index=i,
                history=turns[max(0, i - 1 - HISTORY_TURNS) : i - 1],
                post=turns[i - 1],
                reply=turns[i],
                rating=dialogue.rating,
            )


def usable_exchanges(path: Path = DIALOGUES) -> tuple[list[Exchange], Counter]:
    """(exchanges, drops by rule) of the whole corpus."""
    drops: Counter = Counter()
    return list(exchanges(dialogues(path), drops)), drops
