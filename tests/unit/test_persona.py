"""The bot's answers about itself: asked of the bot, never of a third person."""

from __future__ import annotations

import pytest

from shared import persona

ASKED = [
    ("ja", "あなたは誰ですか?"), ("ja", "ちなみにあなたは何者?"), ("ja", "お名前は?"), ("ja", "名前は何ですか?"),
    ("ja", "あなたの名前は?"), ("ja", "何歳ですか?"), ("ja", "ところで、おいくつですか?"), ("ja", "あなたはAIなの?"),
    ("ja", "人間ですか?"), ("ja", "どこに住んでるんですか?"), ("ja", "出身はどこですか?"), ("ja", "今どこに住んでるんですか?"),
    ("en", "Who are you?"), ("en", "What is your name?"), ("en", "How old are you?"), ("en", "Are you a bot?"),
    ("ja", "何ができるの?"), ("ja", "あなたは何ができますか?"), ("ja", "誰が作ったんですか?"),
    ("en", "What can you do?"), ("en", "Who made you?"),
    ("en", "Are you human?"), ("en", "Where are you from?"), ("en", "So who are you, anyway?"), ("en", "what are you?"),
    ("ja", "あなたの名前を教えて"), ("en", "Tell me your name"),
    # A bot has no human job: ranked, 「お仕事は何されてるんですか?」 got 「はい、そういう感じの仕事です。」
    ("ja", "お仕事は何されてるんですか?"), ("ja", "何の仕事をしていますか?"), ("en", "What do you do for a living?"),
    # Ranked, 好きな人いる? got 「あまり好きではないですね!」 and 今何時? a stranger's sleepless night.
    ("ja", "好きな人いる?"), ("ja", "彼氏いるの?"), ("en", "Do you have a girlfriend?"), ("en", "are you single?"),
    ("ja", "今何時?"), ("ja", "今日は何曜日?"), ("en", "What time is it?"),
    # Ranked, 元気? got 「元気じゃないです!元気ください!」.
    ("ja", "元気?"), ("ja", "調子どう?"), ("ja", "最近どう?"), ("ja", "調子どうよ?"), ("ja", "最近、調子はどうですか?"), ("ja", "お元気ですか"), ("en", "how's it going?"), ("en", "how are you doing today?"), ("en", "hey how are you"), ("en", "Hi, how are you?"),
]
NOT_ASKED = [
    ("ja", "その人は誰ですか?"), ("ja", "あなたは誰が好きですか?"), ("ja", "お子さんは何歳ですか?"), ("ja", "犬の名前は何ですか?"),
    ("ja", "いくつか質問してもいいですか?"), ("ja", "機械学習が好きです"), ("ja", "旦那さんの仕事は何ですか?"),
    ("en", "What are you doing?"), ("en", "Are you really going?"), ("en", "Who is your favourite singer?"),
    ("en", "How old is your dog?"), ("en", "What are you having for dinner?"), ("en", "Who are you going with?"),
    ("en", "Are you a machine learning engineer?"), ("ja", "人間なんて嫌いです"),
    ("ja", "料理で何ができる?"), ("ja", "奥さんの出身はどこですか?"), ("ja", "この料理は誰が作ったの?"), ("en", "What can you do about it?"),
    ("en", "What do you do for fun?"), ("en", "Who made your dinner?"),
    ("ja", "お兄さんは今何時に起きますか?"), ("ja", "お母さんは元気ですか?"), ("ja", "今何時に寝てる?"), ("ja", "恋人がいる時って何してる?"),
    ("ja", "元気です!あなたは?"), ("en", "How's it going with your sister?"), ("ja", "妹に彼氏いるの?"), ("en", "What time is it in London when it's noon here?"),
    # Not questions: a new puppy's name, a statement about the bot.
    ("ja", "名前はまだ決めてないんです"), ("ja", "年齢は気にしないです"), ("en", "Your name is hard to say"),
]


@pytest.mark.parametrize("lang, line", ASKED)
def test_a_question_about_the_bot_gets_its_own_answer(lang, line):
    assert persona.answer(line, lang)


@pytest.mark.parametrize("lang, line", NOT_ASKED)
def test_a_question_about_anything_else_is_left_to_ranking(lang, line):
    assert persona.answer(line, lang) is None


def test_asked_again_the_bot_answers_in_other_words_and_then_leaves_it_to_ranking():
    first = persona.answer("お名前は?", "ja")
    second = persona.answer("名前は何ですか?", "ja", [first])
    assert second and second != first
    assert persona.answer("お名前は?", "ja", [first, second]) is None


def test_every_answer_is_in_its_language():
    from shared import text

    for question in persona.QUESTIONS:
        assert set(question.patterns) == set(question.replies) == {"ja", "en"}
        for lang, replies in question.replies.items():
            assert replies and all(text.lang_of(reply) == lang for reply in replies)


def test_a_bare_name_question_asks_the_bots_only_before_a_topic_came_up():
    # After a talk about pets, 名前は何ですか? got 「ざつだんといいます。」.
    assert persona.answer("名前は何ですか?", "ja") in persona.QUESTIONS[1].replies["ja"]
    assert persona.answer("名前は何ですか?", "ja", ["いえ"], ["ペット飼ってますか?", "何匹いるんですか?"]) is None
    assert persona.answer("あなたの名前は何ですか?", "ja", ["いえ"], ["ペット飼ってますか?"]) is not None
    # A question about the bot names no topic of its own.
    assert persona.answer("名前は何ですか?", "ja", ["x"], ["お名前は?"]) is not None
