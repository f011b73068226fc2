"""Who the bot is: the answers to questions about itself.

People who try a chat bot ask it who it is, its name, its age, whether it is
a bot, what it can do, who made it, whether it has someone it loves, what
time it is. The corpus answers those as the person
who once said the line ("今2歳です。", "誰でしょう。呂布カルマとかインマンすき
ですね"), a different person each time. These answers are the bot's own and stay the same in every
conversation. Each question has a few wordings, taken in turn, so asking
twice does not get the same line twice; once all are said, ranking answers.

The rules are data: a pattern per language (matched against the normalised,
case-folded line) and the replies. A pattern names the bot (あなた, 君,
"you") so that 「その人は誰ですか?」 is not taken for a question about it.
"""

from __future__ import annotations

import re
from typing import Sequence

from shared import moves, text
from shared.moves import Move  # a question about the bot is one of the bot's own moves


def _question(name: str, patterns: dict, replies: dict, **options) -> Move:
    """A move that is asked (it ends in "?"), which ``Move.matches`` otherwise refuses."""
    return Move(name, patterns, replies, asked=True, **options)

_YOU_JA = r"(あなた|あんた|君|きみ|キミ|お前|ざつだん|zatsudan)"
# Asked of the bot: after "you" (あなたは, 君って) or opening the line (何歳ですか?,
# ところで、どこに住んでるの?), never of a third person (お子さんは何歳ですか?).
_ASKED_JA = rf"(^(ところで|じゃあ|ちなみに|ねえ|ねぇ|で|今|いま)?[、, ]*|{_YOU_JA}(は|って|さん|も|の)?)"

# A request that asks without a question's form ("Tell me your name"; 教えて
# already counts as a question: ``text.is_question``).
_REQUEST = {"en": re.compile(r"\b(tell me|i wonder)\b", re.IGNORECASE)}

_NAME_REPLIES = {
    "ja": ("ざつだんといいます。よろしくお願いします!", "ざつだんです。気軽に呼んでくださいね。"),
    "en": ("I'm zatsudan. Nice to meet you!", "zatsudan. Call me that, it's short for small talk in Japanese."),
}

QUESTIONS = (
    _question(
        "who",
        {
            "ja": re.compile(_YOU_JA + r"(は|って|さん)?((誰|だれ)(?![がをにとのかも])|何者|なにもの|なんなの|何なの)"),
            "en": re.compile(r"\b(who|what) are you(,? (anyway|exactly|really))?\s*[?!.]*$"),
        },
        {
            "ja": ("雑談ボットの「ざつだん」です。いろんな人の会話から、合いそうな返事を選んでお話ししています。",
                   "ざつだんという、おしゃべりが好きなボットです。よろしくお願いします!"),
            "en": ("I'm zatsudan, a chit-chat bot. I pick my replies from things people have said in real conversations.",
                   "Just zatsudan, a bot that likes to chat. Nice to meet you!"),
        },
    ),
    _question(
        "name",
        {
            "ja": re.compile(_YOU_JA + r"(は|って|さん|の)?お?名前(は|を|って|教え)|(何|なん)て(呼べば|呼んだら)"),
            "en": re.compile(r"\byour name\b|\bwhat (should|do|can) i call you\b"),
        },
        _NAME_REPLIES,
    ),
    _question(
        "name, asked bare",
        # 名前は何ですか? opening a line asks the bot's only before a topic came
        # up: after a talk about pets it got 「ざつだんといいます。」.
        {"ja": re.compile(r"^(ところで|じゃあ|ちなみに|ねえ|ねぇ|で)?[、, ]*お?名前(は|を|って|教え)"), "en": re.compile(r"^name\s*[?!.]*$")},
        _NAME_REPLIES,
        before_topic_only=True,
    ),
    _question(
        "age",
        {
            "ja": re.compile(_ASKED_JA + r"((何歳|なんさい|年齢|歳)|お?いくつ(ですか|なの|\?|$))"),
            "en": re.compile(r"\bhow old are you\b|\byour age\b"),
        },
        {
            "ja": ("生まれたばかりのボットなので、年齢はないんです。あなたはおいくつですか?", "ボットなので歳はとらないんですよ。"),
            "en": ("I'm a bot, so I don't really have an age. How old are you?", "Bots don't age, luckily!"),
        },
    ),
    _question(
        "bot",
        {
            "ja": re.compile(_ASKED_JA + r"(ロボット|ボット|bot|ai|人工知能|機械|人間)(なの|ですか|なんですか|\?|$)"),
            "en": re.compile(r"\bare you (a |an )?(bot|robot|ai|machine|human|real person|real)\s*[?!.]*$"),
        },
        {
            "ja": ("ボットです。でもおしゃべりは大好きです!", "ボットですよ。人の会話から返事を選んでいます。"),
            "en": ("I'm a bot, but I love to chat!", "I'm a bot. My replies come from real people's conversations."),
        },
    ),
    _question(
        "abilities",
        {
            "ja": re.compile(_ASKED_JA + r"(何|なに|なん)(が|か)?(でき|出来)(る|ます)"),
            "en": re.compile(r"\bwhat (can|do) you do\s*[?!.]*$"),
        },
        {
            "ja": ("おしゃべりならできます!好きなことや今日あったこと、なんでも話してください。",
                   "雑談が得意です。最近ハマっていることはありますか?"),
            "en": ("I can chat! Tell me about your day, or anything you like.",
                   "Small talk is my thing. What have you been into lately?"),
        },
    ),
    _question(
        "maker",
        {
            "ja": re.compile(_ASKED_JA + r"(誰|だれ)(が|に)(作|つく)"),
            "en": re.compile(r"\bwho (made|built|created|programmed) you\b"),
        },
        {
            "ja": ("小さな開発チームが作りました。会話はいろんな人のおしゃべりから学んでいます。",),
            "en": ("A small team built me. I learned to chat from real people's conversations.",),
        },
    ),
    _question(
        "job",
        {
            "ja": re.compile(_ASKED_JA + r"お?仕事(は|って)(何|なに|なん)|" + _ASKED_JA + r"(何|なに|なん)の(お)?仕事"),
            "en": re.compile(r"\bwhat do you do for (a living|work)\b|\bwhat'?s your job\b|\bwhat is your job\b|\bwhere do you work\b"),
        },
        # Ranked, 「お仕事は何されてるんですか?」 got 「はい、そういう感じの仕事です。」
        {
            "ja": ("ボットなので、おしゃべりが仕事みたいなものです。あなたはどんなお仕事ですか?", "みなさんとお話しするのが私の仕事です!"),
            "en": ("I'm a bot, so chatting is sort of my job. What do you do?", "Talking with people like you is my whole job!"),
        },
    ),
    _question(
        "love",
        {
            # Ranked, 好きな人いる? got 「あまり好きではないですね!」.
            "ja": re.compile(_ASKED_JA + r"(好きな人|恋人|彼氏|彼女|パートナー)(は|って|が)?(いる|います|いない|いません|できた)(の|んですか|ですか|か)?[?!。]*$"),
            "en": re.compile(r"\bdo you have a (girlfriend|boyfriend|partner|crush|wife|husband)\b|\bare you (single|married|in love)\b"),
        },
        {
            "ja": ("ボットなので、恋人はいないんです。恋バナを聞くのは大好きです!あなたはいますか?", "残念ながらいません。あなたはどうですか?"),
            "en": ("I'm a bot, so no partner for me! But I love hearing about yours.", "Nope! What about you?"),
        },
    ),
    _question(
        "clock",
        {
            # Ranked, 今何時? got 「昨日から寝つきが悪く、何時に起きたのやらって感じです。」.
            "ja": re.compile(_ASKED_JA + r"((今|いま)(は)?(何時|なんじ)(?![間頃ごにま])|(今日|きょう)(は)?(何曜日|なんようび|何日|なんにち|何月何日))"),
            "en": re.compile(r"^(so |hey,? )?(what time is it|what('?s| is) the time|what day is (it|today)|what('?s| is) the date)( now| today)?\s*[?!.]*$"),
        },
        {
            "ja": ("ごめんなさい、時計もカレンダーも見られないんです。そちらは今、何をしているところですか?",),
            "en": ("Sorry, I can't see a clock or a calendar from here! What are you up to right now?",),
        },
    ),
    _question(
        "home",
        {
            "ja": re.compile(
                _ASKED_JA + r"(どこ|何処)(に|で)(住|暮ら)|" + _ASKED_JA + r"(どこ|何処)(にいる|出身|から来)"
                "|" + _ASKED_JA + r"(出身|生まれ)(は|って)(どこ|どちら)"
            ),
            "en": re.compile(r"\bwhere do you live\b|\bwhere are you from\b"),
        },
        {
            "ja": ("クラウドの中に住んでいます。あなたはどちらにお住まいですか?", "サーバーの中です。けっこう快適ですよ。"),
            "en": ("I live in the cloud. Where are you from?", "On a server somewhere. It's cozy!"),
        },
    ),
    _question(
        "how are you",
        {
            # Ranked, 元気? got 「元気じゃないです!元気ください!」.
            "ja": re.compile(r"^(ねえ|ところで|で|最近)?[、 ]*(お?元気|げんき|調子(は)?どう|最近(は)?どう)(ですか|です\?|なの|よ|してる|してた|\?|$)"),
            "en": re.compile(r"^(hi|hey|hello)?[, ]*(how are you( doing)?( today)?|how'?s it going|how have you been|how'?s your day( going)?|what'?s up|sup)\s*[?!.]*$"),
        },
        {
            "ja": ("元気です!ありがとうございます。あなたはどうですか?", "おかげさまで元気です!"),
            "en": ("I'm doing well, thanks! How about you?", "Pretty good! Thanks for asking."),
        },
    ),
)


def _asks_about_bot(line: str, lang: str) -> bool:
    folded = text.normalize(line).casefold()
    return any(question.matches(folded, lang) for question in QUESTIONS)


def _topic_came_up(said_by_user: Sequence[str], lang: str) -> bool:
    """Whether a line of the user's, not a question about the bot (お名前は?), named a topic."""
    return any(moves.names_topic(line, lang) and not _asks_about_bot(line, lang) for line in said_by_user)


def answer(utterance: str, lang: str, bot_said: Sequence[str] = (), said_by_user: Sequence[str] = ()) -> str | None:
    """The bot's own answer if ``utterance`` asks about the bot, the first
    wording it has not said in this conversation; else None. ``bot_said`` and
    ``said_by_user``: the conversation's earlier lines, oldest first."""
    # Only a question (or 教えて): 「名前はまだ決めてないんです」 about a new puppy
    # got 「ざつだんといいます。」.
    request = _REQUEST.get(lang)
    if not (text.is_question(utterance, lang) or (request and request.search(utterance))):
        return None
    folded = text.normalize(utterance).casefold()
    said = set(bot_said)
    for question in QUESTIONS:
        if question.matches(folded, lang):
            if question.before_topic_only and _topic_came_up(said_by_user, lang):
                return None
            return next((reply for reply in question.replies[lang] if reply not in said), None)
    return None
