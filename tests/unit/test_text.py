"""Text analysis: language, keywords (nouns / non-stop words), topic, doc ids."""

from __future__ import annotations

import pytest

from shared import text


@pytest.mark.parametrize(
    "value, lang",
    [
        ("猫が好きです", "ja"),
        ("こんにちは", "ja"),
        ("カタカナ", "ja"),
        ("ｶﾀｶﾅ", "ja"),  # half-width katakana
        ("漢字", "ja"),
        ("I like 寿司", "ja"),  # any kana or kanji makes it Japanese
        ("Hello!", "en"),
        ("I love cats", "en"),
        ("123 !?", "en"),
        ("", "en"),
        ("안녕하세요", "en"),  # neither kana nor kanji
    ],
)
def test_detect_lang(value, lang):
    assert text.detect_lang(value) == lang


@pytest.mark.parametrize(
    "value, expected",
    [
        ("ＡＢＣ１２３", "ABC123"),  # full-width -> half-width (NFKC)
        ("ｶﾀｶﾅ", "カタカナ"),  # half-width katakana -> full-width
        ("a \t\n b", "a b"),
        ("　全角　スペース　", "全角 スペース"),  # ideographic spaces collapse and strip
        ("  padded  ", "padded"),
        ("", ""),
    ],
)
def test_normalize_applies_nfkc_and_collapses_whitespace(value, expected):
    assert text.normalize(value) == expected


# -- keywords ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, lang, expected",
    [
        ("猫が好きです", "ja", ["猫"]),  # the noun, not the adjective or particles
        ("昨日猫を見た", "ja", ["猫"]),  # time nouns (昨日) name no topic
        ("今日は寿司を食べたい", "ja", ["寿司"]),
        ("最近ラーメンにはまってる", "ja", ["ラーメン"]),
        ("こんにちは", "ja", ["こんにちは"]),  # a bare greeting falls back to its terms
        ("おはよう", "ja", ["おはよう"]),
        ("Hello!", "en", ["hello"]),
        ("I really love pizza and pasta", "en", ["love", "pizza", "pasta"]),  # stop words dropped
        ("ｐｉｚｚａ", "en", ["pizza"]),  # normalised before analysis
    ],
)
def test_keywords(value, lang, expected):
    assert text.keywords(value, lang) == expected


def test_english_keywords_drop_stop_words_digits_and_single_letters():
    found = text.keywords("The cat and I ate 3 fish in 2024", "en")
    assert found == ["cat", "ate", "fish"]


def test_keywords_are_unique_in_order_of_first_appearance():
    assert text.keywords("pizza pasta pizza pasta salad", "en") == ["pizza", "pasta", "salad"]
    assert text.keywords("猫と犬と猫", "ja") == ["猫", "犬"]


def test_text_without_any_terms_has_no_keywords():
    assert text.keywords("!!! ???", "en") == []


def test_terms_keep_content_words_but_not_particles():
    assert text.terms("猫が好きです", "ja") == ("猫", "好き")


def test_terms_are_lowercased():
    assert text.terms("Cats LOVE Fish", "en") == ("cats", "love", "fish")


# -- topic keywords -----------------------------------------------------------------


def test_topic_keywords_put_the_latest_turn_first():
    assert text.topic_keywords(["猫が好きです", "犬を飼っています"], "ja", 4) == ["犬", "猫"]
    assert text.topic_keywords(["I like cats", "my dogs"], "en", 4)[0] == "dogs"


def test_topic_keywords_of_one_turn_are_its_keywords():
    assert text.topic_keywords(["I really love pizza and pasta"], "en", 4) == ["love", "pizza", "pasta"]


def test_a_keyword_repeated_across_turns_rises_above_a_newer_one_said_once():
    # In the latest turn fish comes first, but dogs and cats were said before too.
    turns = ["cats", "dogs", "fish dogs cats"]
    ranked = text.topic_keywords(turns, "en", 4)
    assert ranked[0] == "dogs"
    assert ranked.index("cats") < ranked.index("fish")


def test_a_keyword_of_earlier_turns_only_never_outranks_one_of_the_latest_turn():
    # However often it was said before, the decayed sum stays below one latest mention.
    turns = ["guitar", "guitar", "guitar", "guitar", "piano"]
    assert text.topic_keywords(turns, "en", 4) == ["piano", "guitar"]


@pytest.mark.parametrize(
    "lang, topic, reaction",
    [
        ("ja", "最近ラーメンにハマってます", "いいですね!"),
        ("ja", "最近ラーメンにハマってます", "へえ、そうなんですね"),
        ("ja", "最近ラーメンにハマってます", "なるほど"),
        ("en", "I just got a new puppy", "Really?"),
        ("en", "I just got a new puppy", "What about you?"),
        ("en", "I just got a new puppy", "Cool"),
    ],
)
def test_a_line_that_only_reacts_is_answered_on_the_topic(lang, topic, reaction):
    # The candidates of いい or "cool" are anybody's reactions to anything.
    assert text.is_reaction(reaction, lang)
    assert text.topic_keywords([topic, reaction], lang, 4) == text.topic_keywords([topic], lang, 4)


@pytest.mark.parametrize(
    "lang, line",
    [("ja", "ありがとうございます!"), ("ja", "こんにちは!"), ("ja", "おやすみなさい"), ("ja", "食べたい!"),
     ("en", "Thanks!"), ("en", "Hi there!"), ("en", "Good night")],
)
def test_greetings_thanks_goodbyes_and_verbs_are_not_reactions_and_keep_their_own_terms(lang, line):
    topic = "最近ラーメンにハマってます" if lang == "ja" else "I just got a new puppy"
    assert not text.is_reaction(line, lang)
    assert text.topic_keywords([topic, line], lang, 8) != text.topic_keywords([topic], lang, 8)


def test_a_reaction_with_no_topic_before_it_keeps_its_own_terms():
    assert text.topic_keywords(["そうなんだ"], "ja", 4) == ["そう"]
    assert text.topic_keywords(["Cool"], "en", 4) == ["cool"]


def test_a_reaction_to_a_line_without_topic_words_is_looked_up_by_that_line():
    assert text.topic_keywords(["週末は何をして過ごしますか?", "へえ、そうなんですね"], "ja", 4) == ["週末", "過ごす"]


@pytest.mark.parametrize(
    "lang, said, reply, back",
    [
        ("ja", "じゃあ、好きなスポーツは?", "なんのスポーツが好きですか。", True),
        ("ja", "じゃあ、好きなスポーツは?", "サッカーが好きです!", False),
        ("ja", "じゃあ、好きなスポーツは?", "野球は好きですか?", False),  # a new word: a real question
        ("ja", "最近はミステリー小説をよく読んでます", "ミステリーとかですか?", True),
        ("ja", "私は冬の方が好きです", "冬好きですか?", True),
        ("ja", "私は冬の方が好きです", "どうして冬が好きなんですか?", False),  # a follow-up
        ("ja", "ミステリーが好きです", "どんなミステリーが好きですか?", False),
        ("ja", "ミステリーが好きです", "ミステリー好きなんですね!", False),  # not a question
        ("en", "Do you like sushi?", "Do you like sushi?", True),
        ("en", "How are you?", "What about you?", False),
        ("en", "I like sushi.", "Why do you like sushi?", False),
        ("ja", "アジがたくさん釣れました", "釣りですか!いいですね。釣れましたか?", True),  # ends asking back
        ("ja", "アジがたくさん釣れました", "いいですね!どこで釣れましたか?", False),
        ("ja", "泳げますか?", "泳げますよー。あなたは?", False),
    ],
)
def test_a_reply_that_only_asks_back_what_was_said_is_recognised(lang, said, reply, back):
    assert (reply in text.AskedBack(said, lang)) is back


def test_a_question_that_asks_back_an_earlier_line_of_the_user_is_recognised_too():
    asked_back = text.AskedBack(["そうかな", "ゲーム好きです"], "ja")
    assert "ゲームがお好きなんですか?" in asked_back  # お adds nothing
    assert "どんなゲームが好きですか?" not in asked_back and "ゲームはよくしますよ" not in asked_back
    assert "Why?" not in text.AskedBack([], "en")
    # Two of the user's lines together, and a question with an exclamation after it.
    assert "お菓子作りってクッキーとかでしょうか?" in text.AskedBack(["昨日はクッキーを焼きました", "お菓子作りが趣味なんです"], "ja")
    assert "お菓子作りがご趣味なんでしょうか。素敵ですね。" in text.AskedBack("お菓子作りが趣味なんです", "ja")
    assert "どんなクッキーですか?" not in text.AskedBack(["昨日はクッキーを焼きました", "お菓子作りが趣味なんです"], "ja")


def test_a_longer_question_in_stop_words_asks_something_of_its_own():
    # "Have you been there?" was answered as if it were "Really?": a fallback.
    assert not text.is_reaction("Have you been there?", "en") and not text.is_reaction("What do you do for fun?", "en")
    assert text.is_reaction("What about you?", "en") and text.is_reaction("Really?", "en")


def test_a_question_asked_back_in_another_interrogative_is_asked_back():
    assert "お寿司いいですね。お寿司はどんなネタが好きですか?" in text.AskedBack("好きなお寿司のネタは何ですか?", "ja")
    assert "サーモンが好きです。あなたは?" not in text.AskedBack("好きなお寿司のネタは何ですか?", "ja")


def test_thanks_and_what_earns_them_are_told_apart():
    assert text.thanks("ありがとうございます。寝不足って、なにか夜にしてるんですか?", "ja") and text.thanks("Thanks! I love it", "en")
    assert text.thanks("応援ありがとうございます!頑張ります!", "ja")
    assert not text.thanks("ありがたいことに晴れました", "ja") and not text.thanks("No thanks", "en")
    assert not text.thanks("昨日は友達にありがとうと言われました", "ja")
    assert text.praises("すごいですね!", "ja") and text.praises("That's so cool", "en") and text.praises("おめでとう!", "ja")
    assert not text.praises("毎日寝不足です", "ja") and not text.praises("I stayed up late", "en")


def test_taking_in_news_is_told_from_answering():
    assert text.takes_news("そうなんですね!今年はワールドカップがあるので是非見てください!", "ja")
    assert text.takes_news("なるほど、そういうことか", "ja") and text.takes_news("Oh I see. I like it", "en")
    assert not text.takes_news("そうですね、よく見ます", "ja") and not text.takes_news("I see it often", "en")


def test_yes_or_no_and_a_line_asking_agreement_are_recognised():
    assert text.confirms("そうなんです。毎日寝不足です。", "ja") and text.confirms("はい、そういう感じの仕事です。", "ja")
    assert text.confirms("Yes, I do", "en") and text.confirms("Nope.", "en")
    assert not any(text.confirms(t, "ja") for t in ("そうなんですね", "そうですね", "いえいえ", "はいはい"))
    assert not text.confirms("No way!", "en") and not text.confirms("Yesterday I went", "en")
    # "I don't know" answers a question as well (今日髪切ったんだ got 「全くわかりません。すみません。…」).
    assert text.confirms("全くわかりません。すみません。", "ja") and text.confirms("I don't know, maybe", "en")
    assert not text.confirms("わからないことがあったら聞いてください", "ja")
    assert text.asks_agreement("今日は暑いですね", "ja") and text.asks_agreement("It is hot, right?", "en")
    assert not text.asks_agreement("毎日寝不足です", "ja") and not text.asks_agreement("I like it", "en")


def test_a_closing_dewa_takes_leave():
    assert text.takes_leave("もう少し一日が長いといいですね!では!", "ja")
    assert not text.takes_leave("では、始めましょう", "ja") and not text.takes_leave("じゃあ行こう", "ja")


def test_short_goodbyes_take_leave():
    assert all(text.takes_leave(line, "ja") for line in ("バイ", "じゃね", "またな", "お休みなさい"))
    assert not text.takes_leave("バイト行ってきます", "ja")


def test_going_to_bed_now_takes_leave_a_habit_does_not():
    # The good-night move answers 今日は早く寝ます: the evaluation counted it a goodbye to no goodbye.
    assert text.takes_leave("今日は早く寝ます", "ja") and text.takes_leave("もう寝るね", "ja")
    assert not text.takes_leave("夜は12時に寝ます", "ja") and not text.takes_leave("寝る前に本を読みます", "ja")


def test_laughter_only_exclaims():
    assert text.answers_nothing("hahahaha. what is your favorite pizza place", "en")
    assert not text.answers_nothing("Hahaha!! I love it", "en")


def test_reaction_words_are_never_topic_keywords():
    assert "笑" not in text.keywords("昨日カレーを作りました笑", "ja")
    assert text.keywords("Cool, I love pizza", "en") == ["love", "pizza"]


def test_topic_keywords_respect_the_limit():
    turns = ["cats dogs fish birds", "pizza pasta salad soup"]
    assert len(text.topic_keywords(turns, "en", 3)) == 3
    assert text.topic_keywords(turns, "en", 0) == []


def test_topic_keywords_of_no_turns_are_empty():
    assert text.topic_keywords([], "en", 4) == []


def test_weighted_terms_decay_by_age():
    weights = text.weighted_terms(["cats", "dogs"], "en")
    assert weights["cats"] / weights["dogs"] == text.TURN_DECAY


def test_weighted_terms_weigh_topic_keywords_above_other_terms():
    weights = text.weighted_terms(["ねえ、猫ってどう思う？"], "ja")
    assert weights["猫"] == text.KEYWORD_WEIGHT * weights["思う"]
    assert "どう" not in weights and "ねえ" not in weights  # filler


# -- keyword document ids -------------------------------------------------------------


@pytest.mark.parametrize(
    "keyword, doc_id",
    [
        ("猫", "猫"),
        ("pizza", "pizza"),
        ("a/b", "a%2Fb"),
        ("50%", "50%25"),
        ("%2F", "%252F"),  # an escape-looking keyword stays distinct from an escaped '/'
        (".", "%."),
        ("..", "%.."),
        ("__x__", "%__x__"),
        ("__", "%__"),
        ("._.", "._."),
        ("a.b", "a.b"),
    ],
)
def test_keyword_doc_id_escapes_what_firestore_forbids(keyword, doc_id):
    assert text.keyword_doc_id(keyword) == doc_id


@pytest.mark.parametrize("keyword", ["a/b", "a%2Fb", "%2F", "/", "%", ".", "%.", "..", "__x__", "%__x__", "x"])
def test_keyword_doc_ids_are_valid_firestore_ids(keyword):
    doc_id = text.keyword_doc_id(keyword)
    assert "/" not in doc_id
    assert doc_id not in (".", "..")
    assert not (doc_id.startswith("__") and doc_id.endswith("__"))


def test_keyword_doc_id_is_injective_on_tricky_keywords():
    keywords = ["a/b", "a%2Fb", "a%252Fb", "%2F", "/", "%", "%25", ".", "%.", "..", "%..", "__x__", "%__x__"]
    assert len({text.keyword_doc_id(k) for k in keywords}) == len(keywords)


def test_warm_up_loads_both_analysers():
    text.warm_up()  # must not raise; later calls are then cheap
    assert text.terms("準備", "ja")


def test_resemblance_sees_a_reply_said_again_with_a_word_more_or_less():
    assert text.resemblance("関東圏です。", "いえ、関東圏です!") >= 0.7
    assert text.resemblance("お弁当を食べました", "今日はお弁当を食べました。") == 1.0
    assert text.resemblance("猫を飼いたいです", "猫が好きです") < 0.3


@pytest.mark.parametrize("line, lang, asks", [
    ("何を食べましたか？", "ja", True), ("趣味はありますか", "ja", True), ("あっついですよね、九月なのに", "ja", False),
    ("とんこついいですね！私は担々麵が1番好きです。", "ja", False), ("What do you do?", "en", True),
    ("how are you", "en", True), ("I like cats", "en", False),
    # なんです / なんだ are "it is", not なんで ("why"): statements.
    ("ミステリー好きなんですね!", "ja", False), ("そうなんだ", "ja", False), ("なんで?", "ja", True), ("なんでそう思うの", "ja", True),
])
def test_questions_are_told_from_statements(line, lang, asks):
    assert text.is_question(line, lang) is asks


def test_a_reply_that_adds_to_the_utterance_is_not_an_echo():
    assert text.overlap("猫が好きです", "猫が好きです。") == 1.0
    assert text.overlap("ラーメン好きです!特に味噌が好きです", "ラーメン好き") < 0.7


def test_near_repeats_agrees_with_resemblance_on_every_pair():
    said = ["関東圏です。", "猫が好きです", "I love hiking in the hills", "a"]
    texts = [
        "いえ、関東圏です!", "関東です", "猫を飼いたいです", "猫が大好きです!", "犬が好きです", "hiking in the hills, yes",
        "a", "b", "", "今日は寒いですね", "I love hiking",
    ]
    for threshold in (0.3, 0.5, 0.7, 1.0):
        near = text.NearRepeats(said, threshold)
        for t in texts:
            assert (t in near) == any(text.resemblance(t, s) >= threshold for s in said), (t, threshold)
    assert "関東圏です。" not in text.NearRepeats([], 0.7)


def test_near_repeats_agrees_with_resemblance_on_random_texts():
    import random

    rng = random.Random(7)
    alphabet = "猫犬がはですabc "

    def some_text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))

    for _ in range(300):
        said = [some_text() for _ in range(rng.randint(0, 4))]
        near = text.NearRepeats(said, 0.7)
        for t in (some_text() for _ in range(10)):
            assert (t in near) == any(text.resemblance(t, s) >= 0.7 for s in said), (t, said)


@pytest.mark.parametrize(
    "line, lang",
    [
        ("I have to go, bye!", "en"), ("Nice chatting with you!", "en"), ("got to go good talking with you!", "en"),
        ("Hey I actually have to go now, but it was nice talking to you briefly!", "en"), ("Good night!", "en"),
        ("Okay! Have a good day! Thanks for chatting today!", "en"), ("I have really enjoyed this conversation!", "en"), ("thanks for the interesting conversation!", "en"),
        ("はい、それではまた!", "ja"), ("おやすみなさい", "ja"), ("今日はありがとうございました。また!", "ja"),
        ("お話しできて良かったです!", "ja"), ("そろそろ寝ますね", "ja"),
    ],
)
def test_goodbyes_are_recognised(line, lang):
    assert text.takes_leave(line, lang)


@pytest.mark.parametrize(
    "line, lang",
    [
        ("would we have to go through an airport for space travel?", "en"), ("I have to go to work early tomorrow", "en"),
        ("I like hiking", "en"), ("Byers is a town in Colorado", "en"), ("See you there? I mean the concert", "en"),
        ("Did you have a good day at work?", "en"), ("Thanks for asking! I'm good", "en"),
        ("おやすみの日は何をしていますか", "ja"), ("旅行は楽しかったです", "ja"), ("また今度スシロー行こうかな", "ja"),
        ("猫が好きです", "ja"),
    ],
)
def test_lines_that_only_look_like_goodbyes_are_not(line, lang):
    assert not text.takes_leave(line, lang)


@pytest.mark.parametrize("line, lang, opens", [
    ("こんばんは。明日は仕事ありです。", "ja", True), ("おはようございます!", "ja", True), ("今日はこんにちはと言いました", "ja", False),
    ("Hi! pretty good", "en", True), ("Hey there", "en", True), ("history is fun", "en", False), ("They said hi", "en", False),
])
def test_greetings_are_told_by_how_a_line_opens(line, lang, opens):
    assert text.greets(line, lang) is opens


@pytest.mark.parametrize(
    "line, lang, asks",
    [
        ("近くの海はきれいですか", "ja", True), ("もっとおすすめ?どこですか?", "ja", True), ("泳げますよー。あなたは?", "ja", False),
        ("何でも好きです", "ja", False), ("What was her name?", "en", True), ("I love it. Do you?", "en", False),
        ("Same. what sports and instruments?", "en", True), ("おー!特に好きなジャンルとかありますか?", "ja", True),
        ("そうなんですね。どうしてですか?", "ja", True), ("はい。よく行きます", "ja", False), ("おー!", "ja", False),
        ("いいですね。おすすめの場所教えてください", "ja", True),
        ("結構筋トレが多いんですね。", "ja", True), ("猫が好きなんですね。私も好きです。", "ja", False),
    ],
)
def test_a_reply_answers_nothing_when_every_sentence_asks_or_remarks_on_the_listener(line, lang, asks):
    assert text.answers_nothing(line, lang) is asks


def test_a_reply_against_what_the_bot_said_it_likes_or_not_is_known():
    stances = text.Stances(["料理はあまり得意ではないです。", "スポーツ見るのより、するのが好きです!"], "ja")
    assert "得意料理は餃子ですね!これも皮から作ります!" in stances
    assert "スポーツは特には。" in stances
    assert "料理は苦手です" not in stances and "スポーツは大好きです" not in stances
    assert "ビールは好き" not in stances  # about something else
    assert "巨人ファンですが、全体的にプロ野球が好きです。" in text.Stances(["野球は見ないですね、、、"], "ja")
    assert "紅茶いいですね!私はとても好きです。" in text.Stances(["紅茶はあんまり。リプトンしかないです"], "ja")
    assert "スポーツはあまりしないんですね" not in stances and "スポーツは苦手ですか?" not in stances  # about the listener
    assert "I love dogs" in text.Stances(["I don't really like dogs."], "en")
    assert "I love dogs" not in text.Stances([], "en")


def test_bad_news_and_cheering_replies_are_told_apart():
    assert text.laments("風邪をひいちゃいました", "ja") and text.laments("I'm so tired from work today", "en")
    assert text.laments("学校つまらない", "ja") and text.laments("彼氏と喧嘩しちゃった", "ja")
    assert text.laments("財布を落としちゃいました", "ja")  # got 「いいですねー!小さくてかわいい財布が欲しくなりました。」
    assert not text.laments("昨日カレーを作りました", "ja") and not text.laments("I love sushi", "en")
    assert text.cheers("いいですね!お大事に", "ja") and text.cheers("Nice! I just got home from work", "en")
    assert not text.cheers("大変でしたね。お大事に", "ja") and not text.cheers("Oh no, that's rough", "en")


def test_a_plan_and_a_reply_that_takes_it_as_done_are_told_apart():
    for line in ("来週ライブに行きます", "夏休みに北海道に行くんです", "初めてのライブなのでドキドキです", "I'm going to Kyoto next week"):
        assert text.plans(line, text.detect_lang(line)), line
    assert not text.plans("昨日ライブに行きました", "ja") and not text.plans("I went to Kyoto", "en")
    for reply in ("北海道!いいですね!どちらへ行かれたんですか?", "最近どんなライブ行きましたか?", "どこであったんです?",
                  "今の時期の北海道は気持ちよかったのでは?", "How was it?", "楽しかったんですね!",
                  "Oh that must have been great. Japan was one of the places I hoped for",
                  "引っ越したばかりなんですね", "できたんですね"):
        assert text.takes_as_done(reply, text.detect_lang(reply)), reply
    # Why it was decided, experience, and the plan itself are fair to ask.
    for reply in ("どうして行こうと思ったんですか?", "行ったことありますか?", "いつ行くんですか?", "昨日は楽しかったです。",
                  "楽しんできてくださいね", "I went there last year, it was great", "行きたいですね", "楽しそうですね",
                  "Have you been there before?"):
        assert not text.takes_as_done(reply, text.detect_lang(reply)), reply


def test_a_wish_is_a_plan_too():
    # ライブ行きたいな got 「ライブ! いいですね。どこであったんです?」.
    for line in ("ライブ行きたいな", "海外旅行したいです", "I want to go to Kyoto"):
        assert text.plans(line, text.detect_lang(line)), line


def test_a_line_that_tells_of_something_done_and_a_reply_that_asks_of_a_plan_are_told_apart():
    for line in ("今日髪切ったんだ", "映画見てきたよ", "カフェでバイト始めた", "傘忘れちゃった", "本を読んだ", "I just got a haircut"):
        assert text.tells_done(line, text.detect_lang(line)), line
    for line in ("好きなんだ", "週末どこか行った?", "髪を切りたい", "I love sushi"):
        assert not text.tells_done(line, text.detect_lang(line)), line
    for reply in ("いいですね、バッサリ切る予定ですか?", "これから何をするんですか?", "Are you going to try it?"):
        assert text.asks_plan(reply, text.detect_lang(reply)), reply
    for reply in ("予定はないです。", "どこで切ったんですか?", "Did you like it?"):
        assert not text.asks_plan(reply, text.detect_lang(reply)), reply


def test_words_of_time_are_not_english_topics():
    # "I'm going to Kyoto next week" and "It's been raining all week" both got
    # "How many midterms do you have this week?".
    assert text.keywords("I'm going to Kyoto next week", "en") == ["kyoto"]
    assert "week" not in text.keywords("It's been raining all week", "en")


def test_english_topics_that_web_stop_lists_drop_stay_keywords():
    assert text.keywords("Work was crazy", "en") == ["work", "crazy"]
    assert "home" in text.keywords("Have you ever tried making it at home?", "en")


def test_why_alone_asks_for_a_reason_and_is_no_reaction():
    for line, lang in (("なんで?", "ja"), ("どうしてですか?", "ja"), ("え、なんで好きなの?", "ja"), ("Why?", "en"), ("how come?", "en")):
        assert text.asks_why(line, lang) and not text.is_reaction(line, lang), line
    for line, lang in (("なんでも好きです", "ja"), ("どうしてこうなった", "ja"), ("Why do cats purr?", "en")):
        assert not text.asks_why(line, lang), line


def test_a_reason_counts_only_when_it_names_what_the_bot_said():
    said, asked = "食べ物ですかー。最近はアボカドをよく食べます。", "好きな食べ物は何ですか?"
    assert text.gives_reason_for("アボカドは栄養があるので好きなんです", said, asked, "ja")
    # No reason; a reason for something else; 最近 names no choice; ので in のですね is no reason.
    for reply in ("アボカドおいしいですよね", "パスタは簡単なので好きです", "最近忙しいので料理してません", "アボカド育ててらっしゃるのですね。"):
        assert not text.gives_reason_for(reply, said, asked, "ja"), reply
    assert text.gives_reason_for("I love fall because of the colors", "Fall, I think.", "What's your favorite season?", "en")


def test_a_line_that_denies_and_a_reply_that_presumes_are_told_apart():
    assert text.denies("料理は全然できなくて", "ja") and text.denies("I don't really cook", "en")
    assert not text.denies("料理が好きです", "ja") and not text.denies("Don't you cook?", "en")
    assert not text.denies("映画はあまり見ないけど、ドラマはよく見ます", "ja")  # what they do is fair to ask about
    assert text.presumes("どんな料理が好きですか?", "ja") and text.presumes("What do you like to cook?", "en")
    assert text.presumes("いいですね。得意なお料理はなんでしょう?", "ja")
    assert not text.presumes("料理が好きなんですね。", "ja") and not text.presumes("Cooking is hard.", "en")


def test_an_amount_told_and_a_question_that_asks_for_it_are_told_apart():
    assert text.tells_amount("まだ3キロしか走れないけど", "ja") and text.tells_amount("I ran 5 miles today", "en")
    assert not text.tells_amount("走るのが好きです", "ja") and not text.tells_amount("I love running", "en")
    assert text.asks_amount("どのくらい走るのですか?", "ja") and text.asks_amount("How far do you run?", "en")
    assert not text.asks_amount("どのくらいか覚えてないです。", "ja") and not text.asks_amount("Where do you run?", "en")


def test_a_question_of_what_where_or_who_and_a_reply_that_ends_asking():
    assert text.asks_wh("何のゲームやってる?", "ja") and text.asks_wh("Where do you live?", "en")
    assert not text.asks_wh("ゲーム好き?", "ja") and not text.asks_wh("Do you like games?", "en")
    assert text.ends_asking("いいですね。どこに行きましたか?", "ja")
    assert not text.ends_asking("どちらかというと犬派でしょうか。猫はたまにアレルギー出ちゃいます。", "ja")


def test_indefinite_words_and_points_in_time_are_no_questions_nor_amounts():
    assert not text.asks_wh("何か趣味ありますか?", "ja") and not text.asks_wh("どこか行きましたか?", "ja")
    assert not text.tells_amount("10年前にハワイに行きました", "ja") and text.tells_amount("10年住んでます", "ja")
    assert not text.asks_why("Why not!", "en")
