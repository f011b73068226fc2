"""The bot's own moves: lines with nothing to rank on get what a person would
say, and any line that says more is left to ranking."""

from __future__ import annotations

import pytest

from shared import moves, text

THANKS_JA = moves.MOVES[0].replies["ja"]
FEELS_LOW = next(move for move in moves.MOVES if move.name == "feels low")

OWN = [
    ("ja", "ありがとう"), ("ja", "ありがとうございます!"), ("ja", "本当にありがとう"), ("en", "Thanks!"), ("en", "thank you so much"),
    ("ja", "何か面白い話してください"), ("ja", "面白いこと言って"), ("ja", "何か話して"), ("ja", "何話す?"), ("ja", "話題ある?"),
    ("en", "Tell me something interesting"), ("en", "Tell me a joke"), ("en", "What should we talk about?"),
    ("ja", "暇です"), ("ja", "ひまー"), ("en", "I'm so bored"),
    ("ja", "ちょっと落ち込んでます"), ("ja", "悲しいことがありました"), ("ja", "寂しいです"), ("en", "I'm feeling really down today"),
    ("ja", "うん"), ("ja", "そうなんだ"), ("ja", "はい"), ("ja", "いいえ"), ("ja", "わかりません"), ("ja", "特にないです"),
    ("en", "Really?"), ("en", "No idea"), ("en", "idk"),
    ("ja", "今日は嬉しいことがあったんです!"), ("ja", "楽しかった!"), ("en", "I had a really good day today!"),
    ("ja", "何か話そう"), ("ja", "どうしたらいいと思いますか?"), ("ja", "何かいい方法ありますか?"), ("en", "Any tips?"), ("ja", "どうしよう"), ("ja", "あー、どうしようかな"), ("en", "Thanks, I will"),
    ("ja", "こんにちは!"), ("ja", "こんばんわー"), ("ja", "おはよう"), ("ja", "はじめまして、よろしくお願いします!"),
    ("en", "Hi there!"), ("en", "hey"), ("en", "Good morning everyone"),
    ("ja", "ねえ"), ("ja", "やっほー"),
    # nagonbot's greetings and goodbyes, once ranked: お休み, じゃあね, バイ, こんばんは～, ハロー.
    ("ja", "お休み"), ("ja", "じゃあね"), ("ja", "バイ"), ("ja", "こんばんは～"), ("ja", "ハロー"), ("ja", "そろそろ行かなくてはいけません。"), ("ja", "聞いてよ"), ("ja", "ねえ、聞いて!"), ("en", "Guess what!"), ("ja", "今日いいことあった"),
    ("ja", "よろしくお願いします"), ("ja", "こちらこそよろしくです!"), ("en", "Nice to meet you!"),
    ("ja", "そろそろ寝ますね"), ("ja", "おやすみなさい"), ("en", "Good night!"),
    ("ja", "今日は話せて楽しかったです"), ("ja", "じゃあまたね"), ("en", "Bye!"), ("en", "Nice talking to you"),
    ("ja", "今日誕生日なんです"), ("ja", "実は明日誕生日です!"), ("en", "It's my birthday today!"),
    ("ja", "試験に合格しました!"), ("ja", "内定もらいました"), ("en", "I passed my driving test!"), ("en", "I got the job"),
    ("ja", "子供が生まれたんです"), ("en", "We had a baby!"),
    ("ja", "今日は最悪な一日でした"), ("en", "I had a really bad day"), ("en", "Today was awful!"),
    ("ja", "今帰ってきました"), ("ja", "ただいま!"), ("en", "I just got home"),
    ("ja", "話してて楽しいです"), ("ja", "あなたは優しいですね"), ("en", "You're so funny"),
    ("ja", "実家の犬が亡くなったんです"), ("ja", "祖母が亡くなりました"), ("en", "My grandpa passed away yesterday"),
    ("en", "Our dog Max died last week"),
    ("ja", "ねえねえ"), ("ja", "子猫を飼い始めました"), ("ja", "先週うちに犬が来たんです"), ("en", "I just adopted a kitten"),
    ("en", "We got a puppy!"), ("en", "just got home from work"), ("ja", "仕事から帰ってきました"),
]
RANKED = [
    # They say something the corpus can answer.
    ("ja", "ありがとう、元気出ました"), ("ja", "ありがとうございました"), ("ja", "昨日友達と話しました"),
    ("ja", "試験に落ちちゃって"), ("ja", "寂しいです、彼氏と別れて"), ("ja", "このカレー辛いです"), ("ja", "暇つぶしに何かない?"),
    ("ja", "こんにちは、今日は暑いですね"), ("ja", "猫を飼ってます"), ("en", "Hi, how are you?"), ("ja", "お元気ですか"), ("en", "Thanks for the tip about pasta"), ("en", "Let's talk about cats"),
    ("en", "I am sad that the movie ended"), ("en", "I love hiking"),
    ("ja", "楽しみです"), ("ja", "楽しいお店を見つけました"), ("ja", "寝る前に本を読みます"), ("en", "I'm happy with my new job"),
    ("ja", "猫の話をありがとうございました。それではまた!"), ("en", "Okay, what do you like to do?"),
    ("ja", "おすすめの温泉ありますか?"), ("ja", "聞いてよ、今日上司に怒られた"), ("ja", "。"),
    ("ja", "誕生日は何月ですか?"), ("ja", "最悪な映画を見ました"), ("en", "I had a long day at work"), ("ja", "誕生日に彼氏から花をもらいました"), ("en", "I passed the salt to my brother and he laughed"),
    ("ja", "今日は家に帰ってきて料理しました"), ("ja", "彼は優しいですね"), ("ja", "話してて楽しいけど、明日は仕事なんです"),
    ("en", "You're so funny, said my sister to the cat"), ("en", "My phone died"), ("ja", "亡くなった祖父の話をします"),
    ("ja", "猫を飼い始めたきっかけは友達です"), ("en", "I got a cat food coupon"),
    ("ja", "このカレーが辛い"), ("ja", "風邪をひいて病院に行きました"), ("ja", "終わった…"), ("ja", "仕事が終わったら飲みに行きます"), ("ja", "でも道具を揃えるのが大変そうで"), ("ja", "仕事がつまらない"), ("ja", "バイト行ってきます"), ("ja", "ボールが頭に当たった"), ("ja", "寂しいです、彼氏と別れて"),
    # A review found these caught: questions, recovery, denial, 大変 as "very", sympathy with the bot, amusement.
    ("ja", "彼氏に振られたことある?"), ("ja", "振られたらどうしよう"), ("ja", "好きな人に振られたけど、今は新しい彼氏がいて幸せです"),
    ("ja", "仕事が大変ですか?"), ("ja", "風邪ひいたことある?"), ("ja", "緊張しますか?"), ("ja", "眠い?"), ("ja", "テスト終わった?"),
    ("ja", "サービスが大変よかったです"), ("ja", "仕事が大変じゃないです"), ("ja", "雪で大変でしたね"), ("ja", "楽しそう!"),
    ("ja", "体調よくなりました"), ("ja", "風邪ひいてないよ"), ("ja", "頭が痛くない"), ("ja", "おかしいw"),
    ("en", "I'm nervous about the move because my new flat is small"), ("en", "My cat is sick of the rain"),
    # Symbols alone keep their fallback.
    ("en", "!!!"), ("ja", "👍"),
]


@pytest.mark.parametrize("lang, line", OWN)
def test_a_line_with_nothing_to_rank_on_gets_the_bots_own_move(lang, line):
    reply = moves.answer(line, lang)
    assert reply and text.lang_of(reply) == lang


@pytest.mark.parametrize("lang, line", RANKED)
def test_a_line_that_says_something_is_left_to_ranking(lang, line):
    assert moves.answer(line, lang) is None


MOVE = {move.name: move for move in moves.MOVES}


@pytest.mark.parametrize(
    "lang, line, name",
    [
        # Ranked, 毎日残業でつらい got 「あえて少し残業、同じですね」.
        ("ja", "毎日残業でつらい", "is worn down by something"), ("ja", "仕事で疲れた", "is worn down by something"),
        ("en", "work has been so stressful lately", "is worn down by something"),
        # Ranked, 喉が痛い got 「喉痛くなったことはなかったんですか?」.
        ("ja", "風邪ひいたかも", "is unwell"), ("ja", "喉が痛い", "is unwell"), ("ja", "熱があるんです", "is unwell"),
        ("ja", "子供が熱を出して", "someone close is unwell"), ("en", "my dog is sick", "someone close is unwell"),
        ("en", "I'm so stressed about exams", "feels low"), ("en", "I hope I pass", "is nervous"),
        ("en", "I think I'm getting a cold", "is unwell"), ("en", "my head hurts", "is unwell"),
        ("ja", "眠い…", "is tired"), ("ja", "風邪かも", "is unwell"), ("ja", "元気ない", "feels low"), ("ja", "疲れた〜", "is tired"), ("en", "I didn't sleep well", "is tired"), ("en", "but I'm exhausted", "is tired"), ("en", "ugh, I'm sick", "is unwell"),
        # Ranked, テスト終わった! got 「今大学3年なのであとちょっとテストとのお付き合いがあります。」.
        ("ja", "テスト終わった!", "is done with something"), ("ja", "やっと終わったー", "is done with something"),
        ("en", "I finished my exams", "is done with something"),
        ("ja", "うまく弾けるかな", "is nervous"), ("ja", "緊張してきた", "is nervous"), ("ja", "やばいかも", "is nervous"), ("ja", "続けられるか心配です", "is nervous"), ("ja", "うまくいくかな", "is nervous"), ("ja", "続くかな", "is nervous"), ("ja", "最近仕事で昇進しました", "made it"),
        ("ja", "どうすればいいですかね", "asks for advice"), ("ja", "何かいい方法ないですか", "asks for advice"),
        ("en", "a bit nervous", "is nervous"), ("en", "wish me luck!", "is nervous"),
        ("ja", "今日は早く寝ます", "good night"), ("ja", "悲しい…", "feels low"),
        # Ranked, 彼氏に振られた got 「彼氏さんはいくつなんですか?」.
        ("ja", "彼氏に振られた", "was dumped"), ("ja", "実は彼女と別れました", "was dumped"), ("en", "my girlfriend dumped me", "was dumped"),
        ("ja", "推しのライブ当たった!", "made it"), ("ja", "宝くじが当たりました", "made it"),
    ],
)
def test_a_line_gets_the_move_it_calls_for(lang, line, name):
    assert moves.answer(line, lang) in MOVE[name].replies[lang]


@pytest.mark.parametrize(
    "lang, line, name",
    [
        # Ranked, つまらない got 「わがままな人無理です」: an apology, then a topic.
        ("ja", "つまらない", "finds the bot lacking"), ("ja", "バカ", "finds the bot lacking"), ("ja", "あなたつまらない", "finds the bot lacking"),
        ("en", "that makes no sense", "finds the bot lacking"),
        ("ja", "もっと面白いこと言って", "asks for a topic"),
    ],
)
def test_a_line_gets_the_move_that_leads_to_an_opener(lang, line, name):
    reply = moves.answer(line, lang, ["x"], ["y"])
    assert reply.startswith(MOVE[name].replies[lang][0]) and reply.removeprefix(MOVE[name].replies[lang][0]) in moves.OPENERS[lang]


def test_a_second_line_of_the_same_move_gets_the_next_reply():
    # 風邪ひいたかも, then 喉が痛い: not the same words twice.
    first = moves.answer("風邪ひいたかも", "ja")
    assert moves.answer("喉が痛い", "ja", ["風邪ひいたかも"], [first]) == MOVE["is unwell"].replies["ja"][1]


def test_thanks_get_a_welcome_in_other_words_each_time_then_ranking():
    first = moves.answer("ありがとう", "ja")
    second = moves.answer("ありがとう!", "ja", ["猫を飼ってます"], [first])
    assert (first, second) == THANKS_JA
    assert moves.answer("ありがとう", "ja", [], list(THANKS_JA)) is None


def test_a_request_for_a_topic_asks_an_opener_the_bot_has_not_asked_yet():
    first = moves.answer("何か面白い話して", "ja")
    assert first.endswith(moves.OPENERS["ja"][0])
    second = moves.answer("ほかには?", "ja", ["何か面白い話して"], [first])
    assert second.endswith(moves.OPENERS["ja"][1]) and second != first


def test_a_line_that_says_nothing_opens_a_topic_only_before_one_came_up():
    assert moves.answer("うん", "ja") == moves.OPENERS["ja"][0]  # the first line: the opener alone
    assert moves.answer("うん", "ja", ["こんにちは"], ["こんにちは!"]).endswith(moves.OPENERS["ja"][0])
    # After a topic, a reaction is ranked on it (scorer.reaction_context).
    assert moves.answer("うん", "ja", ["猫を飼ってます"], ["いいですね!"]) is None
    # A request for a topic does not count as one.
    assert moves.answer("idk", "en", ["Tell me something"], ["Sure!"]) is not None


def test_sympathy_asks_what_happened_only_when_the_user_has_not_said():
    assert moves.answer("ちょっと落ち込んでます", "ja") == FEELS_LOW.replies["ja"][0]
    assert moves.answer("落ち込んでます", "ja", ["試験に落ちちゃって"], ["え!"]) == FEELS_LOW.on_topic["ja"][0]


def test_openers_run_out_then_ranking_answers():
    asked = [moves.answer("うん", "ja")]
    while (reply := moves.answer("うん", "ja", ["うん"] * len(asked), asked)) is not None:
        asked.append(reply)
    assert len(asked) == len(moves.OPENERS["ja"])


def test_every_move_has_both_languages_and_replies_in_them():
    for move in moves.MOVES:
        assert set(move.patterns) == set(move.replies) == {"ja", "en"}
        for lang, replies in (*move.replies.items(), *(move.on_topic or {}).items()):
            assert all(text.lang_of(reply) == lang for reply in replies if reply)
    for lang, openers in moves.OPENERS.items():
        assert all(text.lang_of(q) == lang and text.is_question(q, lang) for q in openers)


def test_good_news_asks_what_happened_only_when_nothing_was_said_yet():
    assert moves.answer("楽しかった!", "ja") == "いいですね!何があったんですか?"
    # On a topic, gladness (it was ranked: でも楽しい got 「楽しいことか、なんだろうな」).
    assert moves.answer("すごく楽しかった!", "ja", ["昨日映画を観ました"], ["何の映画ですか?"]) == "よかったですね!"
    assert moves.answer("でも楽しい", "ja", ["コーヒーの淹れ方覚えるの大変"], ["x"]) == "よかったですね!"


def test_a_greeting_alone_is_greeted_back_in_its_own_words_with_a_topic():
    assert moves.answer("こんばんわー", "ja") == "こんばんは!" + moves.OPENERS["ja"][0]
    assert moves.answer("hey", "en", [], ["Hi! " + moves.OPENERS["en"][0]]) == "Hi! " + moves.OPENERS["en"][1]


def test_a_reaction_to_the_bots_answer_turns_the_question_around():
    said = ["休みの日は何してますか?"], ["休みの日はゲームか、Youtubeを見ています。"]
    assert moves.answer("へえ", "ja", *said) == "あなたはどうですか?"
    # Not when the bot asked something itself, nor after a statement of the user's.
    assert moves.answer("へえ", "ja", ["休みの日は何してますか?"], ["ゲームです。あなたは?"]) is None
    assert moves.answer("へえ", "ja", ["猫を飼ってます"], ["いいですね。"]) is None
    assert moves.answer("Why?", "en", ["How are you?"], ["Good, thanks."]) not in ("How about you?", "What about you?")


def test_after_news_told_in_a_move_sympathy_does_not_ask_what_happened():
    low = moves.answer("寂しいです", "ja", ["実家の犬が亡くなったんです", "もう15歳でした"], ["それは本当に悲しいですね…。", "x"])
    assert low in FEELS_LOW.on_topic["ja"]
    assert moves.answer("寂しいです", "ja", ["暇です"], ["x"]) in FEELS_LOW.replies["ja"]  # 暇です told nothing


def test_a_birthday_is_congratulated_not_ranked():
    # Ranked, 「今日誕生日なんです」 got 「分かります、私も今でも誕生日の月は嬉しいです。」
    assert "おめでとう" in moves.answer("今日誕生日なんです", "ja", ["犬を飼ってます"], ["いいですね"])
    assert "birthday" in moves.answer("It's my birthday today!", "en").casefold()


def test_why_to_the_bots_question_is_answered_as_why_it_asks():
    assert moves.answer("なんで?", "ja", ["そうなんだ"], ["最近は何にハマっていますか?"]) == moves._JUST_CURIOUS["ja"][0]
    assert moves.answer("Why?", "en", ["Really?"], ["What have you been into lately?"]) == moves._JUST_CURIOUS["en"][0]
    # To a statement it asks for a reason, which ranking looks for.
    assert moves.answer("なんで?", "ja", ["好きな季節は?"], ["秋ですねー。"]) is None


def test_after_the_bot_answered_with_a_topic_a_reaction_is_ranked_on_it():
    # Before, それ面白い? was taken for a line that says nothing: an opener.
    assert moves.answer("それ面白い?", "ja", ["最近ハマってることある?"], ["最近は、料理本を借りて試すのにハマってます!"]) is None


def test_a_move_that_leads_to_an_opener_takes_its_lead_ins_in_turn():
    first = moves.answer("that makes no sense", "en", ["x"], ["y"])
    second = moves.answer("you're boring", "en", ["x", "that makes no sense"], ["y", first])
    assert first.startswith(MOVE["finds the bot lacking"].replies["en"][0])
    assert second.startswith(MOVE["finds the bot lacking"].replies["en"][1])


def test_why_to_a_reply_that_ends_telling_is_left_to_ranking():
    told = "お~。どちらかというと犬派でしょうか。猫はたまにアレルギー出ちゃいます。"
    assert moves.answer("なんで?", "ja", ["犬派?猫派?"], [told]) is None


def test_being_fine_is_welcomed_only_when_the_bot_asked_how_they_are():
    # After 元気です!あなたはどうですか?, 私は元気だよ got 「元気じゃないんですか?」.
    for lang, line, asked in (("ja", "私は元気だよ", "元気です!ありがとうございます。あなたはどうですか?"),
                              ("en", "I'm good, thanks", "I'm doing well, thanks! How about you?")):
        reply = moves.answer(line, lang, ["元気?"], [asked])
        assert reply.startswith(MOVE["is fine"].replies[lang][0]) and reply.removeprefix(MOVE["is fine"].replies[lang][0]) in moves.OPENERS[lang]
    assert moves.answer("元気です", "ja", ["猫を飼ってます"], ["いいですね"]) is None


def test_being_fine_is_not_welcomed_after_any_what_about_you():
    assert moves.answer("okay", "en", ["I like pizza"], ["I love pizza. What about you?"]) is None
    assert moves.answer("まあまあです", "ja", ["映画見ました"], ["私も映画好きです。あなたはどうですか?"]) is None


def test_why_to_a_statement_then_a_question_is_left_to_ranking():
    assert moves.answer("なんで?", "ja", ["好きな人いる?"], ["残念ながらいません。あなたはどうですか?"]) is None
