"""The live evaluation's counting (the stack is not needed for it)."""

from __future__ import annotations

from jobs import chat_eval
from shared.scorer import FALLBACK_REPLIES


class Answer:
    def __init__(self, text: str) -> None:
        self.text, self.algorithm, self.keywords, self.elapsed_ms = text, "bm25", [], 100.0


class Client:
    """Says the scripted replies in order."""

    def __init__(self, replies) -> None:
        self.replies = iter(replies)

    def say(self, line: str) -> Answer:
        return Answer(next(self.replies))


def test_fallbacks_other_languages_echoes_and_repeats_are_counted(monkeypatch):
    lines = ["猫が好きです", "何を食べましたか？", "犬は？", "趣味は？"]
    monkeypatch.setattr(chat_eval, "held_out_dialogues", lambda lang: iter([("rpc/1", lines)]))
    replies = ["猫が好きです", FALLBACK_REPLIES[("ja", "question")][0], "I like dogs", "猫が好きです"]
    results = chat_eval.run(lambda user: Client(replies), "ja", conversations=1, turns=4)
    totals = chat_eval.summary(results)
    assert (totals["replies"], totals["fallback_rate"], totals["wrong_language"]) == (4, 0.25, 1)
    assert (totals["echo_rate"], totals["repeated_own_reply"]) == (0.25, 1)
    assert totals["algorithms"] == {"bm25": 4}
    assert "fallback 25.0%" in chat_eval.render(results, totals)


def test_a_goodbye_to_a_line_that_is_not_one_is_counted(monkeypatch):
    lines = ["What are your hobbies?", "I have to go now, bye!"]
    monkeypatch.setattr(chat_eval, "held_out_dialogues", lambda lang: iter([("chitchat/1", lines)]))
    results = chat_eval.run(lambda user: Client(["Nice chatting with you!", "Bye, take care!"]), "en", conversations=1, turns=2)
    assert [r.leaves_early for r in results] == [True, False]
    assert chat_eval.summary(results)["leaves_early"] == 1


def test_the_held_out_dialogues_are_the_test_split():
    from jobs.train.data import HELD_OUT, split_of

    dialogue_id, lines = next(chat_eval.held_out_dialogues("ja"))
    assert split_of(dialogue_id) == HELD_OUT and lines


def test_the_shipped_probe_script_has_conversations_in_both_languages():
    from pathlib import Path

    script = Path(chat_eval.__file__).with_name("chat_probes.txt")
    ja, en = list(chat_eval.scripted_dialogues(script, "ja")), list(chat_eval.scripted_dialogues(script, "en"))
    assert len(ja) >= 15 and len(en) >= 8
    assert ("ja backchannel after a topic", ["最近ラーメンにハマってます", "そうなんですよ、特に味噌が好きで", "いいですね!"]) in ja
    assert all(len(lines) >= 3 for _, lines in ja + en)
