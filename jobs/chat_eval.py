"""Live evaluation: held-out conversations through the running stack.

    python -m jobs.chat_eval --env .run/stack.env --lang ja --conversations 40 --turns 3

Plays one side of held-out dialogues (the test split of ``jobs/train/data.py``,
never seen in training: RealPersonaChat for Japanese, chitchat-dataset for
English) into the running ingress, a few turns per conversation, waits for
each reply like a client, and reports: fallback rate, replies in another
language, replies that repeat the utterance, replies the bot had already
given in the same conversation, goodbyes to lines that were not one,
greetings after the first turn to lines that were not one,
post-to-reply latency, and every exchange for
a person to read.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from jobs import ENV_HELP, connect
from shared import text as textlib
from shared.scorer import FALLBACK_REPLIES


@dataclass
class Exchange:
    conversation: str
    turn: int
    utterance: str
    reply: str
    algorithm: str
    keywords: list[str]
    elapsed_ms: float
    fallback: bool
    wrong_language: bool
    echoes: bool
    repeats_itself: bool
    leaves_early: bool  # says goodbye to a line that does not
    greets_late: bool  # greets after the first turn, to a line that does not


def held_out_dialogues(lang: str) -> Iterator[tuple[str, list[str]]]:
    """(dialogue id, the lines one speaker says) of held-out dialogues."""
    from jobs.train.data import HELD_OUT, split_of

    if lang == "ja":
        from jobs.corpus import real_persona_chat as rpc

        for dialogue in rpc.dialogues():
            if split_of(dialogue.id) != HELD_OUT:
                continue
            n = len(dialogue.turns)
            # The first speaker's lines after the opening, as someone would type them.
            lines = [t for i, t in enumerate(dialogue.turns) if i % 2 == 0 and i >= 2 and rpc.drop_reason(t, i, n) is None]
            if lines:
                yield dialogue.id, lines
    else:
        import chitchat_dataset

        conversations = chitchat_dataset.Dataset()
        for conversation_id in sorted(conversations):
            if split_of(f"chitchat/{conversation_id}") != HELD_OUT:
                continue
            messages = conversations[conversation_id]["messages"]
            lines = [" ".join(u["text"] for u in m) for i, m in enumerate(messages) if i % 2 == 0 and i >= 1]
            lines = [textlib.normalize(line) for line in lines if line.strip()]
            if lines:
                yield f"chitchat/{conversation_id}", lines


def scripted_dialogues(path: Path, lang: str) -> Iterator[tuple[str, list[str]]]:
    """(name, lines) of the conversations in a script file in ``lang``: blocks
    separated by blank lines, one turn per line, ``# `` lines naming a block
    (``# ja weather``: the first word after ``#`` is the block's language)."""
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        names = [line[2:].strip() for line in block.splitlines() if line.startswith("# ")]
        lines = [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]
        if lines and names and names[-1].split()[0] == lang:
            yield names[-1], lines


def run(client_factory, lang: str, conversations: int, turns: int, script: Path | None = None) -> list[Exchange]:
    fallbacks = {reply for (fallback_lang, _), replies in FALLBACK_REPLIES.items() if fallback_lang == lang for reply in replies}
    results: list[Exchange] = []
    dialogues = scripted_dialogues(script, lang) if script else held_out_dialogues(lang)
    for index, (dialogue_id, lines) in enumerate(dialogues):
        if index >= conversations:
            break
        client = client_factory(f"eval-{uuid.uuid4().hex[:8]}")
        said: set[str] = set()
        for turn, line in enumerate(lines[:turns]):
            answer = client.say(line)
            reply = textlib.normalize(answer.text).casefold()
            results.append(
                Exchange(
                    conversation=dialogue_id,
                    turn=turn,
                    utterance=line,
                    reply=answer.text,
                    algorithm=answer.algorithm,
                    keywords=answer.keywords,
                    elapsed_ms=round(answer.elapsed_ms, 1),
                    fallback=answer.text in fallbacks,
                    wrong_language=textlib.detect_lang(answer.text) != lang,
                    echoes=reply == textlib.normalize(line).casefold(),
                    repeats_itself=reply in said and answer.text not in fallbacks,
                    leaves_early=textlib.takes_leave(answer.text, lang) and not textlib.takes_leave(line, lang),
                    greets_late=turn > 0 and textlib.greets(answer.text, lang) and not textlib.greets(line, lang),
                )
            )
            said.add(reply)
    return results


def summary(results: list[Exchange]) -> dict:
    n = len(results)
    latencies = sorted(r.elapsed_ms for r in results)

    def share(flag: str) -> float:
        return round(sum(getattr(r, flag) for r in results) / n, 4) if n else 0.0

    def quantile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0.0

    return {
        "replies": n,
        "fallback_rate": share("fallback"),
        "wrong_language": sum(r.wrong_language for r in results),
        "echo_rate": share("echoes"),
        "repeated_own_reply": sum(r.repeats_itself for r in results),
        "leaves_early": sum(r.leaves_early for r in results),
        "greets_late": sum(r.greets_late for r in results),
        "p50_ms": quantile(0.5),
        "p90_ms": quantile(0.9),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else 0.0,
        "algorithms": dict(Counter(r.algorithm for r in results)),
    }


def render(results: list[Exchange], totals: dict) -> str:
    lines = []
    for r in results:
        if r.turn == 0:
            lines.append(f"--- {r.conversation}")
        flags = " ".join(f for f in ("fallback", "wrong_language", "echoes", "repeats_itself", "leaves_early", "greets_late") if getattr(r, f))
        lines.append(f"you> {r.utterance}\nbot> {r.reply}   [{r.algorithm} · {r.elapsed_ms:.0f} ms{' · ' + flags if flags else ''}]")
    lines.append(
        f"\n{totals['replies']} replies: fallback {totals['fallback_rate']:.1%}, other language {totals['wrong_language']}, "
        f"echo {totals['echo_rate']:.1%}, repeated own reply {totals['repeated_own_reply']}, "
        f"goodbye to a line that was not one {totals['leaves_early']}, greeting mid-conversation {totals['greets_late']}, "
        f"p50 {totals['p50_ms']:.0f} ms, p90 {totals['p90_ms']:.0f} ms, by {totals['algorithms']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", help=ENV_HELP)
    parser.add_argument("--lang", choices=["ja", "en"], action="append", help="default: both")
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--turns", type=int, default=3, help="utterances per conversation")
    parser.add_argument("--out", help="write the exchanges and the summary as JSON here")
    parser.add_argument("--script", type=Path, help="play these conversations instead (jobs/chat_probes.txt)")
    args = parser.parse_args(argv)
    _, clients = connect(args.env)
    from jobs.chat import ChatClient, make_watcher

    ingress = os.environ.get("INGRESS_URL")
    if not ingress:
        print("error: INGRESS_URL is not set: start the stack (make up) and pass --env .run/stack.env", file=sys.stderr)
        return 2
    watcher = make_watcher(os.environ.get("REPLY_STORE", "firestore"), clients)
    report = {}
    for lang in args.lang or ["ja", "en"]:
        results = run(lambda user: ChatClient(ingress, watcher, user), lang, args.conversations, args.turns, args.script)
        totals = summary(results)
        print(f"== {lang}\n{render(results, totals)}\n")
        report[lang] = {"summary": totals, "exchanges": [asdict(r) for r in results]}
    if args.out:
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
