"""RealPersonaChat -> exchanges usable out of their dialogue (pure logic, toy dialogues)."""

from __future__ import annotations

from collections import Counter

import pytest

from jobs.corpus import real_persona_chat as rpc


def dialogue(*turns: str, id_: str = "rpc/1") -> rpc.Dialogue:
    return rpc.Dialogue(id=id_, turns=turns, rating=4.5)


@pytest.mark.parametrize(
    "reply, index, length, reason",
    [
        ("<BB>さんはいつも朝は早いんですか?", 5, 30, "masked_token"),
        ("こんにちは!よろしくお願いします。", 1, 30, "session_opening"),
        ("こんばんはー!", 1, 30, "greeting_only"),
        ("こちらこそありがとうございました!", 29, 30, "session_closing"),
        ("では今日はこの辺で失礼します。", 28, 30, "session_closing"),
        ("ありがとうございます!", 10, 30, "thanks_only"),
        ("先ほどのお話のカレー、おいしそうでした", 12, 30, "refers_to_earlier"),
        ("さっきスーパーで果物を買いました", 12, 30, None),  # さっき alone is the speaker's own morning
        ("ありがとうございます!今度行ってみます", 10, 30, None),  # thanks and more
        ("そうめんがおいしい季節ですね", 10, 30, None),
    ],
)
def test_drop_reasons(reply, index, length, reason):
    assert rpc.drop_reason(reply, index, length) == reason


def test_each_utterance_is_answered_by_the_next_with_the_turns_before_as_history():
    d = dialogue("こんにちは!", "こんにちは!よろしくお願いします。", "夏バテしてませんか?", "してます、食欲がなくて。", "そうめんとかどうですか?", "いいですね!")
    drops = Counter()
    found = list(rpc.exchanges([d], drops))
    assert [(e.post, e.reply) for e in found] == [
        ("こんにちは!よろしくお願いします。", "夏バテしてませんか?"),
        ("夏バテしてませんか?", "してます、食欲がなくて。"),
        ("してます、食欲がなくて。", "そうめんとかどうですか?"),
        ("そうめんとかどうですか?", "いいですね!"),
    ]
    assert found[2].history == ("こんにちは!よろしくお願いします。", "夏バテしてませんか?")
    assert all(e.dialogue == "rpc/1" for e in found)
    assert drops == Counter({"session_opening": 1})


def test_a_reply_to_a_masked_post_is_dropped_too():
    drops = Counter()
    found = list(rpc.exchanges([dialogue("話しましょう", "<DT>さんは何が好きですか?", "ラーメンです")], drops))
    assert found == [] and drops == Counter({"masked_token": 1, "masked_post": 1})


def test_the_vendored_corpus_is_read_whole():
    first = next(rpc.dialogues())
    assert first.id.startswith("rpc/") and len(first.turns) > 10 and 1.0 <= first.rating <= 5.0
