"""Text analysis: language detection, terms for ranking, topic keywords.

Japanese goes through SudachiPy (mode C, the ``core`` dictionary that ships in
``sudachidict-core``: no download); English through a regular expression and a
stop-word list. The corpus pipeline and the scorer use this same module, so a
keyword means the same thing when candidates are stored and when they are
looked up.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections import Counter
from typing import Iterable, NamedTuple, Sequence

import stopwordsiso

_JAPANESE_CHARS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_ENGLISH_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_WHITESPACE = re.compile(r"\s+")

# Parts of speech that carry no content for matching (particles, auxiliaries,
# symbols, whitespace). Data, not branches: extend the table to tune.
_JA_SKIP_POS = frozenset({"助詞", "助動詞", "補助記号", "記号", "空白"})
# Adverbs and interjections (どう, とても, ねえ) are filler for matching
# unless a text has nothing else (こんにちは).
_JA_FILLER_POS = frozenset({"副詞", "感動詞", "接続詞"})
# (POS level 1, POS level 2) pairs that make a topic keyword.
_JA_KEYWORD_POS = frozenset({("名詞", "普通名詞"), ("名詞", "固有名詞")})
# Nouns that work as adverbs (昨日, 今, 最近) name a time, not a topic.
_JA_NOT_KEYWORD_POS2 = frozenset({"副詞可能"})
# Nouns too vague to be a topic (気, 感じ, 方: "I feel", "the way"), measured as
# the most frequent keywords of RealPersonaChat posts that name no topic.
_JA_VAGUE_NOUNS = frozenset(
    {"感じ", "気", "人", "方", "自分", "本当", "ほんと", "やつ", "こと", "事", "もの", "物", "普通",
     "他", "ほか", "前", "後", "中", "上", "下", "的", "系", "色々", "いろいろ", "一つ", "何か", "方々"}
)

# Words of a reaction (そうなんだ, いいですね!, 笑, "Cool", "Really?"): they
# say a line was heard, not what it is about. They are never topic keywords,
# and a line made of nothing else is answered on the conversation's topic
# (``topic_keywords``): the candidates looked up by such a word are anybody's
# reactions to anything (「いいですね!」 got 「あとyoasobiも好きです。」).
REACTION_WORDS = {
    "ja": frozenset(
        {"そう", "へえ", "へー", "へぇ", "ほう", "ほー", "なるほど", "いい", "よい", "良い", "すごい", "凄い",
         "すてき", "素敵", "確か", "たしか", "本当", "ほんと", "まじ", "マジ", "うん", "はい", "ええ", "えー",
         "おお", "おー", "わかる", "分かる", "なん", "何", "それ", "笑", "w", "草", "面白い", "さすが", "そっか",
         "やっぱり", "やはり", "羨ましい", "うらやましい", "いいなあ", "了解"}
    ),
    "en": frozenset(
        {"really", "why", "cool", "nice", "wow", "yeah", "yes", "yep", "yup", "no", "nope", "ok", "okay",
         "haha", "hahaha", "lol", "oh", "ah", "hmm", "interesting", "great", "awesome", "same", "true",
         "right", "sure", "see", "neat", "amazing", "agreed", "totally", "indeed", "sounds", "fun", "good"}
    ),
}
# Greetings, by the word that greets each back: the ways a text may say it
# (``GREETING``, ``greeting_of``).
GREETINGS = {
    "ja": {"こんにちは": r"こんにち[はわ]|こんちは", "こんばんは": r"こんばん[はわ]|今晩は", "おはようございます": r"おはよう?",
           "はじめまして": r"はじめまして|初めまして", "やっほー": r"やっほ[ーう〜]*", "ハロー": r"ハロー|はろー"},
    "en": {"Hi": r"hi+|hello|hey+|hiya|howdy", "Good morning": r"good morning", "Good afternoon": r"good afternoon",
           "Good evening": r"good evening"},
}
# Lines that have answers of their own even mid-conversation: greetings
# anywhere in them, and thanks (goodbyes are ``LEAVE_TAKING``). Matched
# against a case-folded text.
SOCIAL = {
    "ja": re.compile("|".join(GREETINGS["ja"].values()) + r"|ありがと|よろしく|お元気"),
    "en": re.compile(r"\b(" + "|".join(GREETINGS["en"].values()) + r"|thanks?|thank you|welcome|sorry|nice to meet|how are you)\b"),
}

# How much an earlier turn counts towards the topic, per turn of age.
TURN_DECAY = 0.5
# How much more a topic keyword counts than any other term of its turn.
KEYWORD_WEIGHT = 3.0


def normalize(text: str) -> str:
    """NFKC, collapsed whitespace: the form every stage compares."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


_JA_QUESTION = re.compile(
    r"([?？]|(か|かな|かね|の|っけ)[。!！〜ー]*$|何|なに|なんで(?!す)|なんだろ|どう|どこ|どれ|どの|どんな|どちら|どっち|誰|だれ|いつ|なぜ|いくつ|いくら"
    r"|教えて)"
)
_EN_ASKING_WORDS = r"what|who|whom|whose|where|when|why|how|which|do|does|did|are|is|was|were|can|could|will|would|have|has|should|shall|may"
# After a greeting too: "hey how are you" (not after "so": "So do I").
_EN_QUESTION = re.compile(rf"(\?|^((hi|hey|hello|ok|okay|well)[,!.]* )?({_EN_ASKING_WORDS})\b)", re.IGNORECASE)


class Traits(NamedTuple):
    question: bool  # ``is_question``
    greeting: str | None  # ``greeting_of``
    leaves: bool  # ``takes_leave``
    answers_nothing: bool  # ``answers_nothing``
    cheers: bool  # ``cheers``
    thanks: bool  # ``thanks``
    takes_news: bool  # ``takes_news``
    confirms: bool  # ``confirms``
    # A question's parts that may ask back (``AskedBack``): all of it, its
    # sentences that do not only exclaim, its closing question; () if it
    # asks nothing.
    asking_parts: tuple[str, ...]


_SENTENCE = re.compile(r"[^。!?.]+[。!?.]*")


def _sentences(normal: str) -> list[str]:
    """The sentences of a normalised text, each with its closing marks."""
    return [sentence.strip() for sentence in _SENTENCE.findall(normal)]

# A sentence that asks: a question mark, or a question's ending (Japanese)
# or opening word (English). Stricter than ``is_question``, which counts any
# interrogative (何でも好きです).
_ASKS = {
    "ja": re.compile(r"\?$|(か|かな|かね|の|っけ|でしょう|だろう|教えて(ください|下さい|ほしい|欲しい)?)[。!〜ー]*$"),
    "en": re.compile(rf"\?$|^({_EN_ASKING_WORDS})\b", re.IGNORECASE),
}
# A sentence that remarks on what the listener said (多いんですね, 好きなんだね).
_REMARK_ON_LISTENER = {"ja": re.compile(r"(ん|の)(です|だ)ね[!。〜ー]*$")}
# A sentence that only exclaims (おー!, そうなんですね。, "Oh!"): it neither
# asks nor answers, so 「おー!特に好きなジャンルとかありますか?」 only asks.
_EXCLAMATION = {
    "ja": re.compile(
        r"^(お[おー〜]+|へ[えぇー〜]+|わ[あぁー〜]+|あ[あー〜]+|え[えー〜]+|ほ[おー〜]+|なるほど|たしかに|確かに|はい|うん|いえいえ"
        r"|そう(なん)?(です|だ)?(ね|よね|か)?|(いい|すごい|素敵)(です)?(ね|よね)?|ですね|ですよね)[ー〜!?。、w笑]*$"
    ),
    "en": re.compile(
        r"^(oh+|ah+|wow+|same|cool|nice|a?(ha){2,}h?|(he){2,}|lo+l|yeah|yes|ok(ay)?|hmm+|really|i see|great|awesome|true|sure|right|interesting)"
        r"[!.?, ]*$",
        re.IGNORECASE,
    ),
}


def _found(table: dict[str, re.Pattern], text: str, lang: str) -> bool:
    """Whether the language's pattern of ``table`` (if it has one) is in ``text``."""
    pattern = table.get(lang)
    return bool(pattern and pattern.search(text))


@functools.lru_cache(maxsize=65536)  # every candidate of a request is asked; the same ones recur
def traits(text: str, lang: str) -> Traits:
    """What the reply filters ask of a text, from one normalisation of it."""
    normal = normalize(text)
    folded = normal.casefold()
    leaving = LEAVE_TAKING.get(lang)
    asks, exclaims, remarks = _ASKS.get(lang), _EXCLAMATION.get(lang), _REMARK_ON_LISTENER.get(lang)
    every = _sentences(normal)
    sentences = [s for s in every if not (exclaims and exclaims.search(s))]
    question = bool((_JA_QUESTION if lang == "ja" else _EN_QUESTION).search(normal))
    return Traits(
        question=question,
        greeting=_greeting(folded, lang),
        leaves=bool(leaving and leaving.search(folded)),
        answers_nothing=bool(
            asks and sentences and all(asks.search(s) or (remarks and remarks.search(s)) for s in sentences)
        ),
        cheers=_found(_CHEER, folded, lang),
        thanks=_found(_THANKS, folded, lang),
        takes_news=_found(_TAKES_NEWS, folded, lang),
        confirms=_found(_CONFIRMS, folded, lang),
        asking_parts=_asking_parts(normal, every, sentences, lang) if question else (),
    )


def _asking_parts(normal: str, every: list[str], kept: list[str], lang: str) -> tuple[str, ...]:
    parts = [normal]
    if kept and len(kept) < len(every):
        parts.append(("" if lang == "ja" else " ").join(kept))
    asks = _ASKS.get(lang)
    if len(every) > 1 and asks and asks.search(every[-1]):
        parts.append(every[-1])
    return tuple(parts)


def is_question(text: str, lang: str) -> bool:
    """Whether the text asks something: a question mark, an interrogative, or
    (Japanese) a sentence-final か/の."""
    return traits(text, lang).question


# Bad news (風邪をひいちゃいました, "I'm so tired from work today"), and replies
# that open by cheering (いいですね!, "Nice!"), which the corpus's reactions to
# good news bring along: "Nice! I just got home from work" to a tired line.
_LAMENT = {
    "ja": re.compile(
        r"疲れ|つかれ|しんど|つら(い|かった)|痛い|いたい|風邪|熱が|体調|落ち込|落ち(た|ちゃ)|失敗|残念|悲し|寂し|さみし|最悪|大変"
        r"|ストレス|残業|忙し|眠れな|負け|怪我|けが|病院|入院|亡くな|別れ|振られ|困っ|イライラ|不安|心配|やめられな"
        r"|落とし(た|ちゃ|まし)|(なく|無く|失く)し(た|ちゃ|まし)|盗まれ|壊れ|壊し(た|ちゃ|まし)|遅刻|寝坊|乗り遅れ|迷子"
        r"|つまらな|だるい|めんどくさ|面倒くさ|やる気(が)?(出|で)な|喧嘩|けんか"
    ),
    "en": re.compile(
        r"\b(tired|exhausted|sick|ill|hurts?|pain|sad|upset|depressed|lonely|stressed|awful|terrible|worst|failed|lost"
        r"|broke|broken|died|cold|flu|fever|headache|overwhelmed|worried|anxious)\b",
        re.IGNORECASE,
    ),
}
_CHEER = {
    "ja": re.compile(
        r"^(それは|それ|あ|お|え|わ)?[ー〜、!]*(いいですね|いいな|良いですね|素敵|すてき|羨まし|うらやまし|すご(い|っ)|凄い|最高|おめでとう"
        r"|楽しそう|やった|わー|わあ|ナイス)"
    ),
    "en": re.compile(r"^(nice|great|awesome|cool|yay|congrats|congratulations|lucky|sweet|how fun|sounds fun|that'?s (great|awesome|cool|good|nice)|good for you)\b"),
}


def laments(text: str, lang: str) -> bool:
    """Whether the text tells of something bad (``_LAMENT``)."""
    return _found(_LAMENT, normalize(text), lang)


# A plan, something not done yet (来週ライブに行きます, 夏休みに北海道に行くん
# です, 楽しみです, "I'm going to Kyoto next week"), and a reply that takes it
# as done: a question in the past tense (「どちらへ行かれたんですか?」, 「どこで
# あったんです?」, "How was it?") or a remark on it as past (「楽しかったんで
# すね」, "Oh that must have been great."). Why it was decided
# (行こうと思ったんですか) is not asked as done.
_PLAN = {
    "ja": re.compile(
        r"明日|明後日|あさって|来週|来月|来年|今度|今週末|今夜|今晩|予定|つもり|(よう|こう|そう|ろう|おう)と(思|考)"
        r"|行く(ん|の|ところ|予定|$)|行きます|楽しみ|たのしみ|ワクワク|わくわく|ドキドキ|どきどき"
        # A wish is not done yet either (ライブ行きたいな -> 「どこであったんです?」).
        r"|たい(な|なあ|なぁ|なー|ね|です|んです|んだ|けど)?[!。〜ー…]*$"
    ),
    "en": re.compile(
        r"\b(next (week|month|year|weekend|time|summer|winter|spring)|tomorrow|tonight|this (weekend|summer|winter|evening)"
        r"|(i'?m|i am|we'?re|we are) (going|gonna|planning|about|hoping) to|i'?ll|i will|plan(ning)? to|can'?t wait"
        r"|looking forward|i (want|would like|'d like|'d love|wish i could) to)\b",
        re.IGNORECASE,
    ),
}
_ASKED_AS_DONE = {
    "ja": re.compile(r"(?<!思っ)(?<!決め)(?<!なっ)(た|だ)(ん|の)?(です|でしょう|では)?(か|かね|っけ)?[?。!]*$"),
    "en": re.compile(r"\b(did you|did it|how was|how did|was it|were you|what did you)\b", re.IGNORECASE),
}
_TOLD_AS_DONE = {
    # 「引っ越したばかりなんですね」 to 来月引っ越すんです.
    "ja": re.compile(r"([っしいえけきせてでれめねべみびぎじか]た|だった|でした|ました)(ばかり(な)?)?(ん|の)?(です)?(ね|よね)[!。〜ー]*$"),
    "en": re.compile(r"\b(must have been|that was (so |really )?(fun|great|nice|cool)|glad you (had|went|enjoyed))\b", re.IGNORECASE),
}


# A line that tells of something done (今日髪切ったんだ, 映画見てきたよ), and
# a reply that asks of it as a plan (「バッサリ切る予定ですか?」).
_TELLS_DONE = {
    "ja": re.compile(
        r"(った|した|いた|えた|けた|きた|せた|てた|でた|れた|めた|ねた|べた|みた|びた|ぎた|じた|(?<!な)んだ"
        r"|ました|でした|かった|ちゃった|じゃった)"
        r"(ん|の)?(だ|です)?(よ|ね|よね|な|なー)?[!。〜ー…]*$"
    ),
    "en": re.compile(r"\bi (just |finally )?(went|got|did|had|made|saw|watched|bought|cut|finished|came)\b", re.IGNORECASE),
}
_ASKS_PLAN = {
    "ja": re.compile(r"予定|つもり|これから|今度"),
    "en": re.compile(r"\b(are you (going|planning) to|will you|gonna)\b", re.IGNORECASE),
}


def tells_done(text: str, lang: str) -> bool:
    """Whether the text tells of something done, not asked (``_TELLS_DONE``)."""
    normal = normalize(text)
    return not is_question(text, lang) and _found(_TELLS_DONE, normal, lang)


def _question_with(table: dict[str, re.Pattern], text: str, lang: str) -> bool:
    """Whether a sentence of the text asks and holds the language's pattern of ``table``."""
    asks = _ASKS.get(lang)
    return bool(asks) and any(asks.search(s) and _found(table, s, lang) for s in _sentences(normalize(text).casefold()))


@functools.lru_cache(maxsize=32768)  # asked of every candidate, like takes_as_done
def asks_plan(text: str, lang: str) -> bool:
    """Whether a question of the text asks of a plan (``_ASKS_PLAN``)."""
    return _question_with(_ASKS_PLAN, text, lang)


def plans(text: str, lang: str) -> bool:
    """Whether the text tells of a plan, something not done yet (``_PLAN``)."""
    return _found(_PLAN, normalize(text), lang)


@functools.lru_cache(maxsize=32768)  # asked of every candidate while a plan is talked of
def takes_as_done(text: str, lang: str) -> bool:
    """Whether a sentence of the text asks in the past tense or remarks on
    the past (``_ASKED_AS_DONE``, ``_TOLD_AS_DONE``)."""
    asked, told, asks = _ASKED_AS_DONE.get(lang), _TOLD_AS_DONE.get(lang), _ASKS.get(lang)
    if asked is None:
        return False
    return any(
        (asks.search(s) and asked.search(s)) or told.search(s) for s in _sentences(normalize(text))
    )


# A reply that opens by thanking fits praise, congratulations or thanks
# (「すごいですね!」 -> 「ありがとうございます。」), nothing else: 「毎日寝不足です」
# got 「ありがとうございます。寝不足って、なにか夜にしてるんですか?」.
_THANKS = {
    "ja": re.compile(r"^[^。!?]{0,4}?(ありがと|恐縮|サンキュー)"),  # 応援ありがとうございます
    "en": re.compile(r"^(oh,? )?(thanks|thank you|thx|ty)\b"),
}
_PRAISE = {
    "ja": re.compile(
        r"いい(です)?(ね|な)|良い(です)?ね|すご|凄|素敵|すてき|上手|うまい|おめでとう|さすが|えらい|偉い|かわいい|可愛い"
        r"|ありがと|羨まし|うらやまし|楽しそう|美味しそう|おいしそう|かっこいい|格好いい|きれい|綺麗|尊敬|応援"
    ),
    "en": re.compile(
        r"\b(nice|great|awesome|cool|congrat\w*|amazing|wow|impressive|good for you|thanks?|thank you|love (that|it)|lucky"
        r"|jealous|beautiful|cute|proud)\b",
        re.IGNORECASE,
    ),
}


def thanks(text: str, lang: str) -> bool:
    """Whether the text opens by thanking (ありがとうございます。, "Thanks!")."""
    return traits(text, lang).thanks


def praises(text: str, lang: str) -> bool:
    """Whether the text praises, congratulates or thanks (``_PRAISE``)."""
    return _found(_PRAISE, normalize(text), lang)


# A reply that opens by taking in news (そうなんですね, なるほど, "Oh I see")
# answers a statement, not a question: ワールドカップ見てます? got 「そうなんで
# すね!今年はワールドカップがあるので是非見てください!」.
_TAKES_NEWS = {
    "ja": re.compile(
        r"^(あ|え|お)?[ー〜、!]*(そうなん(です|だ)(ね|か|よね)|そうだったん(です|だ)|そうでしたか|なるほど|へ[えぇー〜]|ほ[うおー〜]|ふーん|そっか)"
        # ...or a first sentence that says it back (兄弟いますか? -> 「4人兄弟なのですねー!」).
        r"|^[^。!?]{1,20}?(なの|なん)(です|だ)ね[ー〜]*([!。]|$)"
    ),
    "en": re.compile(r"^(oh,? )?(i see|oh really|good to know|that makes sense|gotcha|ah+,? ok)(?=\s*([.!,]|$))"),
}


def takes_news(text: str, lang: str) -> bool:
    """Whether the text opens by taking in news (``_TAKES_NEWS``)."""
    return traits(text, lang).takes_news


# A reply that opens with yes or no (はい, そうなんです, "Yes,") answers a
# question, or a line that asks to be agreed with (暑いですね): to 「毎日寝不足
# です」, 「そうなんです。毎日寝不足です。」 took the user's news as the bot's.
_CONFIRMS = {
    "ja": re.compile(
        r"^(はい|ええ|いいえ|いえ(?!いえ)|そうなんです(?![ねか])|そうです(?![ねよか])|違います|ちがいます)([、。!,. ]|$)"
        # "I don't know" answers a question too (今日髪切ったんだ -> 「全くわかりません。すみません。…」).
        r"|^(全く|全然|よく|ちょっと)?(わかりません|分かりません|わからない|分からない|知りません|知らない)([、。!,. ]|$)"
    ),
    "en": re.compile(r"^(yes|yep|yup|no|nope|i don'?t know|no idea)([,.! ]|$)(?!way)"),
}
_ASKS_AGREEMENT = {
    "ja": re.compile(r"(ね|よね|でしょ|でしょう|じゃない|よな)[。!?〜ー]*$"),
    "en": re.compile(r"\b(right|isn'?t it|aren'?t they|don'?t you think|huh|you know)\W*$", re.IGNORECASE),
}


def confirms(text: str, lang: str) -> bool:
    """Whether the text opens with yes, no or "I don't know": it answers a question (``_CONFIRMS``)."""
    return traits(text, lang).confirms


def asks_agreement(text: str, lang: str) -> bool:
    """Whether the text asks to be agreed with (暑いですね, "..., right?")."""
    return _found(_ASKS_AGREEMENT, normalize(text), lang)


def cheers(text: str, lang: str) -> bool:
    """Whether the text opens by cheering (いいですね!, "Nice!")."""
    return traits(text, lang).cheers


def answers_nothing(text: str, lang: str) -> bool:
    """Whether every sentence of the text is a question or a remark on the
    listener (or only exclaims), so it answers nothing (「近くの海はきれいで
    すか」, 「おー!特に好きなジャンルとかありますか?」, "What was her name?";
    筋トレってしてますか? -> 「結構筋トレが多いんですね。」), unlike 「泳げますよー。
    あなたは?」."""
    return traits(text, lang).answers_nothing


_LETTER = re.compile(r"[A-Za-z\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff21-\uff3a\uff41-\uff5a\uff66-\uff9f]")


def has_letters(text: str) -> bool:
    """Whether the text has any Latin letter, kana or kanji (not only emoji,
    digits or punctuation)."""
    return bool(_LETTER.search(text))


def detect_lang(text: str) -> str:
    """``ja`` if the text has any kana or kanji, else ``en``."""
    return "ja" if _JAPANESE_CHARS.search(text) else "en"


@functools.lru_cache(maxsize=32768)  # every candidate of a request is asked, and the same ones recur
def lang_of(text: str) -> str:
    """``detect_lang``, remembered for recent texts."""
    return detect_lang(text)


# Topics that stopwords-iso's English list (1,298 words, made for web pages)
# counts as stop words: "Work was crazy" and "Have you ever tried making it
# at home?" had no topic keyword of their own.
_NOT_STOP_WORDS = {
    "en": frozenset(
        {"work", "worked", "working", "works", "home", "world", "year", "years", "name", "place", "places", "room", "rooms",
         "computer", "website", "site", "page", "novel", "date", "face", "fire", "line", "number", "problem", "problems",
         "research", "ring", "side", "state", "states", "system", "test", "text", "show", "shows", "group", "groups",
         "interest", "interests", "bill", "school"}
    ),
}


@functools.lru_cache(maxsize=None)
def _stop_words(lang: str) -> frozenset[str]:
    return frozenset(stopwordsiso.stopwords(lang)) - _NOT_STOP_WORDS.get(lang, frozenset())


class _Sudachi:
    """One SudachiPy dictionary per process, one tokenizer per thread
    (tokenizers are not thread-safe; the dictionary is)."""

    def __init__(self) -> None:
        self._dictionary = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def tokenize(self, text: str):
        tokenizer = getattr(self._local, "tokenizer", None)
        if tokenizer is None:
            with self._lock:
                if self._dictionary is None:
                    from sudachipy import Dictionary

                    self._dictionary = Dictionary(dict="core")
            from sudachipy import SplitMode

            tokenizer = self._dictionary.tokenizer(mode=SplitMode.C)
            self._local.tokenizer = tokenizer
        return tokenizer.tokenize(text)


_sudachi = _Sudachi()


@functools.lru_cache(maxsize=65536)
def _analyse(text: str, lang: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(terms, keywords, every term, filler included) of one text; cached
    because candidates repeat.

    Terms leave out stop words, so that filler ("hello, I think that", どう)
    does not outweigh the topic, unless the text is nothing but filler (a bare
    greeting), which then keeps all its terms so greetings match greetings.
    """
    text = normalize(text)
    all_terms, content, keywords_ = _analyse_japanese(text) if lang == "ja" else _analyse_english(text)
    return content or all_terms, keywords_, all_terms


def _analyse_japanese(text: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(all terms, content terms, keywords)."""
    stop = _stop_words("ja")
    terms_: list[str] = []
    content: list[str] = []
    keywords_: list[str] = []
    for morpheme in _sudachi.tokenize(text):
        pos = morpheme.part_of_speech()
        if pos[0] in _JA_SKIP_POS:
            continue
        term = morpheme.dictionary_form().lower()
        terms_.append(term)
        if pos[0] not in _JA_FILLER_POS and term not in stop:
            content.append(term)
        if (
            (pos[0], pos[1]) in _JA_KEYWORD_POS
            and pos[2] not in _JA_NOT_KEYWORD_POS2
            and term not in stop
            and term not in _JA_VAGUE_NOUNS
            and term not in REACTION_WORDS["ja"]
            and not _is_short_kana(term)
        ):
            keywords_.append(term)
    return tuple(terms_), tuple(content), tuple(keywords_)


def _is_short_kana(term: str) -> bool:
    return len(term) == 1 and not re.match(r"[\u4e00-\u9fff]", term)


# Words that name a time, not a topic (the Japanese keywords leave out nouns
# that work as adverbs, 昨日, 来週): "I'm going to Kyoto next week" and "It's
# been raining all week" both got "How many midterms do you have this week?".
_EN_TIME_WORDS = frozenset(
    {"today", "tonight", "tomorrow", "yesterday", "week", "weeks", "month", "months", "morning", "mornings",
     "afternoon", "evening", "night", "nights", "day", "days", "hour", "hours", "minute", "minutes", "lately",
     "recently", "sometime", "weekday", "weekdays"}
)


def _analyse_english(text: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(all terms, content terms, keywords)."""
    stop = _stop_words("en")
    terms_ = tuple(_ENGLISH_TOKEN.findall(text.lower()))
    content = tuple(t for t in terms_ if t not in stop)
    keywords_ = tuple(
        t for t in content
        if len(t) > 1 and not t.isdigit() and t not in REACTION_WORDS["en"] and t not in _EN_TIME_WORDS
    )
    return terms_, content, keywords_


def terms(text: str, lang: str) -> tuple[str, ...]:
    """Content-bearing terms, in order, for lexical similarity (stop words
    only when there is nothing else)."""
    return _analyse(text, lang)[0]


def keywords(text: str, lang: str) -> list[str]:
    """Topic keywords of one text, in order of first appearance.

    Nouns for Japanese, non-stop words for English. A text with none (a bare
    greeting such as こんにちは or "hello") falls back to its terms, so that
    greetings still find their candidates.
    """
    found = _analyse(text, lang)[1] or _analyse(text, lang)[0]
    return list(dict.fromkeys(found))


def names_topic(text: str, lang: str) -> bool:
    """Whether ``text`` has a topic keyword of its own (not 「うん」, "Really?",
    「ありがとう」)."""
    return bool(_analyse(text, lang)[1])


def topic_keywords(turns: Sequence[str], lang: str, limit: int) -> list[str]:
    """Keywords of a conversation, the last turn weighing most.

    ``turns`` runs oldest first; the last turn is the utterance being
    answered. Each earlier turn counts ``TURN_DECAY`` times less than the one
    after it. Ties keep the order in which keywords appear, latest turn first.
    When the utterance itself has no topic word ("hello", 食べたい!), its own
    terms follow the conversation's keywords, so both the ongoing topic and
    the bare phrase can find candidates; unless it only reacts ("Really?",
    そうなんですね, "What about you?": ``is_reaction``), whose answer is on
    the topic.
    """
    weights: Counter[str] = Counter()
    order: dict[str, int] = {}
    for age, turn in enumerate(reversed(turns)):
        weight = TURN_DECAY**age
        for keyword in dict.fromkeys(_analyse(turn, lang)[1]):
            weights[keyword] += weight
            order.setdefault(keyword, len(order))
    ranked = sorted(weights, key=lambda k: (-weights[k], order[k]))
    if turns and not _analyse(turns[-1], lang)[1]:
        if not is_reaction(turns[-1], lang):
            reacting = REACTION_WORDS.get(lang, frozenset()) if ranked else frozenset()
            ranked += [term for term in keywords(turns[-1], lang) if term not in weights and term not in reacting]
        elif not ranked:
            # No topic word before it either: the words of what it reacts to.
            earlier = next((turn for turn in reversed(turns[:-1]) if not is_reaction(turn, lang)), turns[-1])
            ranked = keywords(earlier, lang)
    return ranked[:limit]


def weighted_terms(turns: Sequence[str], lang: str) -> Counter[str]:
    """Term weights of a conversation context: decayed like ``topic_keywords``,
    and topic keywords ``KEYWORD_WEIGHT`` times heavier than other terms, so a
    reply on the topic outranks one that only repeats the phrasing."""
    counts: Counter[str] = Counter()
    for age, turn in enumerate(reversed(turns)):
        weight = TURN_DECAY**age
        topic = set(_analyse(turn, lang)[1])
        for term in terms(turn, lang):
            counts[term] += weight * (KEYWORD_WEIGHT if term in topic else 1.0)
    return counts


# The candidates of recent requests (a few hundred each, ~1.5 KB apiece):
# the scorer filters every candidate of a request by them, and computing a
# set costs about 10 us, looking one up 0.2 us.
@functools.lru_cache(maxsize=32768)
def _bigrams(text: str) -> frozenset[str]:
    folded = normalize(text).casefold()
    return frozenset(folded[i : i + 2] for i in range(len(folded) - 1)) or frozenset({folded})


def overlap(a: str, b: str) -> float:
    """The share of ``a``'s character bigrams that ``b`` has too, 0 to 1: how
    much of ``a`` is ``b``'s words ("猫が好きです" is all of "猫が好きです。"; a
    reply that adds to the utterance, "ラーメン好きです!特に味噌が", is not)."""
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x) if x else 1.0


def resemblance(a: str, b: str) -> float:
    """How nearly one text says the other's words, 0 to 1: the larger
    overlap either way (shared bigrams over the shorter text's), so a reply
    that repeats an earlier one with a word added or dropped ("関東圏です。"
    after "いえ、関東圏です!") counts as the same."""
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / min(len(x), len(y)) if x and y else 1.0


# Lines that end a conversation. A reply that takes leave while the user is
# still talking ends the chat on them ("I have to go, bye!" to a question
# about hobbies); people say these at the end of the corpus's dialogues, so
# keyword look-ups find them mid-conversation. Matched against a normalised,
# case-folded text.
LEAVE_TAKING = {
    "ja": re.compile(
        r"おやすみなさい|おやすみ(ー|～|[!！。]|$)|お休みなさい|さようなら|さよなら|またね|またな$|じゃあね|じゃね|じゃーね|バイバイ|^バイ[!。〜ー~]*$"
        r"|(それ|これ)?では(また|失礼)|失礼します"
        r"|お話し?(でき|させていただ)(て|き)(良|よ|楽し|うれし|嬉し)|話せて(良|よ|楽し|うれし|嬉し)|ありがとうございました"
        r"|また(お話し?|話し)(ましょう|しましょう|させて|できたら|する)|そろそろ(失礼|寝|時間|終わ|落ち)|お疲れ様でした"
        r"|(^|[。!!、 ])(今日は|今夜は)?(もう)?(早く|早めに)?(寝ます(ね)?|寝るね)[!!。〜ー]*$"
        # A closing では! (「もう少し一日が長いといいですね!では!」).
        r"|(^|[。!!、 ])(では|ではでは|それでは|じゃあ|じゃ)[!!。〜ー]*$"
    ),
    "en": re.compile(
        r"\b(good ?-?bye|bye+|see ya|see you (later|soon|around|tomorrow|next time)|talk (to you )?(later|soon)|ttyl"
        r"|good ?night|gotta (go|run)|g2g|(have|need|got) to (go|leave|run|head out)(?=\s*(now|soon|sorry|too|[.,!;]|$))"
        r"|(nice|good|great|fun|a pleasure) (talking|chatting) (to|with) you|it was (nice|good|great|fun) (talking|chatting)"
        r"|thanks? (you )?(so much )?for (the |this |our )?(\w+ )?(chat|chatting|conversation|talking)"
        r"|have a (good|great|nice|wonderful|lovely) (day|night|evening|weekend|one)(?=\s*([.!,~]|$| too))"
        r"|enjoyed (this|our|the) (conversation|chat|talk)|my time is up|signing off"
        r"|(shut|log|sign)(ting)? (down|off|out)( the chat)?(?=\s*(now|[.,!]|$)))\b"
    ),
}


class AskedBack:
    """Whether a reply only asks back what was said, adding nothing: what the
    line it answers said, or the user's recent ``lines`` together. To a
    question, a question of its content words alone (「じゃあ、好きなスポーツ
    は?」 -> 「なんのスポーツが好きですか。」); to statements, a question of
    their words alone, filler included (「最近はミステリー小説をよく読んでます」
    -> 「ミステリーとかですか?」; 「お菓子作りが趣味なんです」, 「昨日はクッキー
    を焼きました」 -> 「お菓子作りってクッキーとかでしょうか?」), while どうして,
    どんな or "why" make a real follow-up (「どんなミステリーが好きですか?」). A
    reply asks back too when it does once its exclamations are left out
    (「お菓子作りがご趣味なんでしょうか。素敵ですね。」) or in its closing question
    (「アジがたくさん釣れました」 -> 「釣りですか!いいですね。釣れましたか?」).

    ``lines``: the line answered first, then the user's other recent lines."""

    def __init__(self, lines: str | Sequence[str], lang: str) -> None:
        lines = [lines] if isinstance(lines, str) else list(lines)
        self._lang = lang
        self._said = [_Said.line(lines[0], lang)] if lines else []
        if len(lines) > 1:
            self._said.append(_Said.together(lines, lang))

    def __contains__(self, reply: str) -> bool:
        parts = traits(reply, self._lang).asking_parts if self._said else ()
        return any(said.only_repeats(part, self._lang) for said in self._said for part in parts)


class _Said(NamedTuple):
    """What a reply is compared with: words, and (Japanese) their kanji and
    katakana; ``part`` says which words of the reply (``_analyse``'s index:
    content terms 0, every term 2)."""

    words: frozenset[str]
    letters: frozenset[str]
    part: int

    @classmethod
    def line(cls, line: str, lang: str) -> _Said:
        if not is_question(line, lang):
            return cls(frozenset(_analyse(line, lang)[2]), _kanji_katakana(line), 2)
        # A question asked back in another interrogative is the same question
        # (好きなお寿司のネタは何ですか? -> 「お寿司はどんなネタが好きですか?」).
        return cls(frozenset(_analyse(line, lang)[0]) | _INTERROGATIVES, _kanji_katakana(line), 0)

    @classmethod
    def together(cls, lines: Sequence[str], lang: str) -> _Said:
        words = frozenset(word for line in lines for word in _analyse(line, lang)[2])
        return cls(words, frozenset().union(*(_kanji_katakana(line) for line in lines)), 2)

    def only_repeats(self, text: str, lang: str) -> bool:
        # Checked first because it costs no tokenising: a kanji or katakana
        # the lines lack is a word of the text's own (most candidates).
        if lang == "ja" and not self.letters.issuperset(_kanji_katakana(text)):
            return False
        words = _analyse(text, lang)[self.part]
        # お好き asks back 好き: the polite prefix adds nothing.
        return bool(words) and self.words.issuperset(word for word in words if word not in _POLITE_PREFIXES)


_POLITE_PREFIXES = frozenset({"お", "ご", "御"})
_INTERROGATIVES = frozenset({"どんな", "どういう", "どの", "どう", "何", "なに", "なん", "どれ", "どちら", "どっち", "what", "which"})


@functools.lru_cache(maxsize=32768)  # asked of every question among the candidates
def _kanji_katakana(text: str) -> frozenset[str]:
    return frozenset(_KANJI_KATAKANA.findall(normalize(text)))


_KANJI_KATAKANA = re.compile(r"[\u30a1-\u30fa\u3400-\u4dbf\u4e00-\u9fff]")


# A question of stop words alone is a reaction only this short ("Why?",
# "What about you?"); a longer one asks something of its own ("Have you been
# there?", answered as if it were "Really?" until this: it got a fallback).
_REACTION_QUESTION_TERMS = 3


# "Why?" alone asks for the reason of what the bot just said: answered as a
# reaction, the question before it was answered again, the other way (好きな
# 季節は、しいて言えば秋ですねー, なんで? -> 「好きな季節は冬ですね…」).
_ASKS_WHY = {
    "ja": re.compile(
        r"^(え|えー|ええ|へえ|へー)?[、 ]*(なんで|何で|どうして|なぜ)(ですか|なの|なんですか|なん|だろう|(好き|嫌い)(なの|なんですか))?[?!。〜ー]*$"
    ),
    "en": re.compile(r"^(oh,? |but )?(why|how come|why is that|why do you (like|love|think) (it|that|them|so))[?!. ]*$"),
}
# A reply that gives a reason (秋は過ごしやすいので, "because it's cozy").
_GIVES_REASON = {
    "ja": re.compile(r"から(です|かな|ですね|かも)?[!。〜ー]*$|ので(?!す)|ため(?!し)|から、|からね"),
    "en": re.compile(r"\b(because|since|cause|'cause|so i|i guess it'?s|it'?s just)\b"),
}


def asks_why(text: str, lang: str) -> bool:
    """Whether the line only asks why (``_ASKS_WHY``)."""
    return _found(_ASKS_WHY, normalize(text).casefold(), lang)


def gives_reason(text: str, lang: str) -> bool:
    """Whether the text gives a reason (``_GIVES_REASON``) and asks nothing."""
    return not is_question(text, lang) and _found(_GIVES_REASON, normalize(text).casefold(), lang)


_KANA = re.compile(r"[ぁ-ん]")
# Nouns that work as adverbs and name no choice: 「最近はアボカドをよく食べま
# す」 names アボカド, not 最近. (Seasons are such nouns too, and are choices.)
_JA_NOT_A_CHOICE = frozenset({"最近", "今日", "昨日", "明日", "毎日", "今", "普段", "一番", "結構", "本当", "全然", "自分", "私", "僕",
                              "今年", "去年", "来年", "時々", "先日", "今度", "一緒", "他", "色々"})


def gives_reason_for(reply: str, said: str, asked: str, lang: str) -> bool:
    """Whether ``reply`` gives a reason and names what ``said`` named beyond
    the question ``asked`` (秋 in 「好きな季節は秋です」 to 好きな季節は?): a
    reason for something else answers nothing."""
    if not gives_reason(reply, lang):
        return False
    # Names, not the verbs and words of manner around them (言う, よく).
    if lang == "ja":
        named = {t for t in terms(said, lang) if not _KANA.search(t)} - _JA_NOT_A_CHOICE
    else:
        named = set(keywords(said, lang))
    named -= set(terms(asked, lang))
    folded = normalize(reply).casefold()
    if lang == "en":
        return bool(named & set(_ENGLISH_TOKEN.findall(folded)))
    return any(t in folded for t in named)


def answered_with_topic(user: Sequence[str], bot: Sequence[str], lang: str) -> bool:
    """Whether the user's last line asked (not only "Why?") and the bot's
    last answered it naming a topic (lines oldest first)."""
    return bool(
        user and bot and is_question(user[-1], lang) and not asks_why(user[-1], lang)
        and not ends_asking(bot[-1], lang) and names_topic(bot[-1], lang)
    )


def is_reaction(text: str, lang: str) -> bool:
    """Whether a line only reacts: every term of it a ``REACTION_WORDS`` or
    stop word (そうなんですね, いいですね!, "Oh I see", "What about you?"), not
    a longer question, and it neither greets, thanks (``SOCIAL``), says
    goodbye nor asks why (which asks about the bot's last words)."""
    if asks_why(text, lang):
        return False
    reaction_words, stop = REACTION_WORDS.get(lang, frozenset()), _stop_words(lang)
    words = terms(text, lang)
    if not all(term in reaction_words or term in stop for term in words):
        return False
    # English counts every word: "What do you do for fun?" is no reaction for
    # being made of stop words and one reaction word (it got an opener).
    length = len(_analyse(text, lang)[2]) if lang == "en" else len(words)
    if length > _REACTION_QUESTION_TERMS and is_question(text, lang):
        return False
    pattern = SOCIAL.get(lang)
    return not (pattern and pattern.search(normalize(text).casefold())) and not takes_leave(text, lang)


# Replies that open a conversation (こんばんは。明日は仕事ありです。, "Hi! pretty
# good"): fine as the bot's first words, odd in the middle of a conversation.
GREETING = {
    lang: re.compile("^(?:" + "|".join(f"(?P<g{i}>{p})" for i, p in enumerate(table.values())) + ")" + (r"\b" if lang == "en" else ""))
    for lang, table in GREETINGS.items()
}


def _greeting(folded: str, lang: str) -> str | None:
    match = GREETING[lang].search(folded) if lang in GREETING else None
    return list(GREETINGS[lang])[int(match.lastgroup[1:])] if match else None


def greets(text: str, lang: str) -> bool:
    """Whether ``text`` opens with a greeting (``GREETING``)."""
    return traits(text, lang).greeting is not None


def greeting_of(text: str, lang: str) -> str | None:
    """The greeting ``text`` opens with, as the word that greets it back
    (こんばんわー -> こんばんは, "hey!" -> Hi), or None."""
    return traits(text, lang).greeting


def takes_leave(text: str, lang: str) -> bool:
    """Whether ``text`` says goodbye (``LEAVE_TAKING``)."""
    return traits(text, lang).leaves


class NearRepeats:
    """Whether a text says one of ``said`` again (``resemblance`` at least
    ``threshold`` with any of them), for many texts against the same few.

    Exact, but most texts are settled by one set intersection instead of one
    per earlier text: no text shares more bigrams with any of them than with
    all of them together, nor needs fewer than the shortest one has."""

    def __init__(self, said: Sequence[str], threshold: float) -> None:
        self._said = list(said)
        self._all = frozenset().union(*map(_bigrams, self._said))
        self._shortest = min((len(_bigrams(s)) for s in self._said), default=0)
        self._threshold = threshold

    def __contains__(self, text: str) -> bool:
        if not self._said:
            return False
        x = _bigrams(text)
        if len(x & self._all) / min(len(x), self._shortest) < self._threshold:
            return False
        return any(resemblance(text, s) >= self._threshold for s in self._said)


# How a sentence leans on what it names: against (あまり, 苦手, "don't") is
# checked first, since あまり好きじゃない also says 好き.
_AGAINST = {
    "ja": re.compile(
        r"苦手|嫌い|きらい|あまり|あんまり|全然|ぜんぜん|ほとんど|特には|興味(が|は)?(ない|なく|ありません)"
        r"|(好き|得意)(では|じゃ)(ない|なく|ありません)|(飲め|食べられ|でき)(ない|ません)|しない|しません|してない|してません"
        r"|(見|観|聴|聞|読|行か|やら|飲ま|食べ)(ない|ません|てない|てません)"
        r"|こと(が|は)?(ない|なく|無い|ありません)"
    ),
    "en": re.compile(r"\b(don'?t|do not|never|not (really|much|a fan)|hate|dislike|can'?t stand|not into)\b", re.IGNORECASE),
}
_FOR = {
    "ja": re.compile(r"好き|得意|ハマって|はまって|よく|毎日|大ファン|こと(が)?(ある|あり)|派(です|なんです|ですね|かな|だ)?[!。]*$"),
    "en": re.compile(r"\b(love|enjoy|big fan|i (really )?like|favou?rite)\b", re.IGNORECASE),
}
# A sentence about the listener (コーヒーお好きなんですね, "Do you like it?")
# is no stance of the speaker's.
_ABOUT_LISTENER = {
    "ja": re.compile(r"お好き|あなた|(ん|の)ですね[!。〜ー]*$"),
    "en": re.compile(r"\byou"),
}


@functools.lru_cache(maxsize=32768)
def _leanings(text: str, lang: str) -> tuple[tuple[str, int], ...]:
    """(sentence, +1 for / -1 against) of the text's sentences that lean."""
    against, for_, listener, asks = _AGAINST.get(lang), _FOR.get(lang), _ABOUT_LISTENER.get(lang), _ASKS.get(lang)
    if against is None:
        return ()
    found = []
    for sentence in _sentences(normalize(text).casefold()):
        if asks.search(sentence) or listener.search(sentence):
            continue
        lean = -1 if against.search(sentence) else 1 if for_.search(sentence) else 0
        if lean:
            found.append((sentence, lean))
    return tuple(found)


# A reply that asks how or what the user does or likes (「どういったお料理が
# 得意ですか?」), which presumes the opposite of a line that says they do not
# (料理は全然できなくて, 全然勉強してない -> 「どうやって勉強しているのですか?」).
_PRESUMES = {
    "ja": re.compile(
        r"(どう|どんな|どういった|どの|何|なに|いつ|どこ|どれくらい|どのくらい)[^。!?]*"
        r"(好き|して(い)?る|されて|やって(い)?る|作って|勉強して|飲んで|読んで|見て(い)?る|観て(い)?る|行って(い)?る)"
        # Any question of what one is good at (「得意料理は?」, 「得意な料理はありますか?」).
        r"|得意|上手|好きな[^。!?]*(何|なに|なん|どれ|どんな|どの)"
    ),
    "en": re.compile(r"^(what|which|how|where|when)\b.*\b(do|did) you (like|play|make|cook|study|do|watch|read|drink)\b"),
}


# A line that tells an amount (まだ3キロしか走れない, "I ran 5 miles") and a
# reply that asks how much (「どのくらい走るのですか?」): it asks back what was said.
_TELLS_AMOUNT = {
    "ja": re.compile(
        r"([0-9]+(キロ|km|メートル|m|回|時間|分|日|週間|ヶ月|か月|カ月|年|歳|才|円|人|冊|本|杯|個|匹|kg|点|位)"
        # Kanji numerals with fewer counters: 十分 (enough) and 一人 (alone) tell none.
        r"|[一二三四五六七八九十百千万半]+(キロ|回|時間|週間|ヶ月|か月|カ月|年|歳|才|冊|杯|匹))"
        # A point in time (10年前に) tells no amount.
        r"(?!前|後|ぶり)"
    ),
    "en": re.compile(r"\b([0-9]+|one|two|three|four|five|six|seven|eight|nine|ten|twenty)\s?(km|k|miles?|kilometers?|meters?|times|hours?|minutes?|days?|weeks?|months?|years?|dollars|bucks|pounds|kg|lbs|books|cups)\b"),
}
_ASKS_AMOUNT = {
    "ja": re.compile(r"どのくらい|どれくらい|どのぐらい|どれぐらい|何(キロ|回|時間|分|日|週間|ヶ月|か月|年|歳|円|人|冊|本|杯|個|匹)|いくら|何歳"),
    "en": re.compile(r"\bhow (much|many|long|far|often|old)\b"),
}


def tells_amount(text: str, lang: str) -> bool:
    """Whether the text tells an amount (``_TELLS_AMOUNT``)."""
    return _found(_TELLS_AMOUNT, normalize(text).casefold(), lang)


@functools.lru_cache(maxsize=32768)  # asked of every candidate, like takes_as_done
def asks_amount(text: str, lang: str) -> bool:
    """Whether a question of the text asks how much or how many (``_ASKS_AMOUNT``)."""
    return _question_with(_ASKS_AMOUNT, text, lang)


# A question that asks what, where, who... (何のゲームやってる?): yes or no
# answers none (「そうです。スイッチのゲームです。」).
_ASKS_WH = {
    # Not the indefinite 何か, どこか, 誰か, いつも: 何か趣味ありますか? is answered yes or no.
    "ja": re.compile(r"何(?!か)|なに(?!か)|なん(の|で|て)|どこ(?!か)|どれ|どの|どんな|どちら|どっち|誰(?!か)|だれ(?!か)|いつ(?![かも])|いくつ|いくら|どう(?!か)"),
    "en": re.compile(r"^(what|who|whom|whose|where|when|why|how|which)\b"),
}


def asks_wh(text: str, lang: str) -> bool:
    """Whether a question of the text asks what, where, who... (``_ASKS_WH``)."""
    return _question_with(_ASKS_WH, text, lang)


def ends_asking(text: str, lang: str) -> bool:
    """Whether the text's last sentence is a question (「どちらかというと犬派で
    しょうか。猫はたまにアレルギー出ちゃいます。」 ends telling)."""
    sentences = _sentences(normalize(text))
    return bool(sentences) and is_question(sentences[-1], lang)


def only_asks(text: str, lang: str) -> bool:
    """Whether the text is one sentence, a question (最近は何にハマっていますか?)."""
    return len(_sentences(normalize(text))) == 1 and ends_asking(text, lang)


def denies(text: str, lang: str) -> bool:
    """Whether a line says the user does not do or like something (a sentence
    of it leans against, ``_AGAINST``), and asks nothing."""
    return not is_question(text, lang) and any(
        lean < 0 and not _FOR_AFTER_BUT.search(sentence) for sentence, lean in _leanings(text, lang)
    )


# ...but not one that goes on to what they do (映画はあまり見ないけど、ドラマはよく見ます).
_FOR_AFTER_BUT = re.compile(r"(けど|けれど|が、|でも)[^。!?]*(" + _FOR["ja"].pattern + r")")


@functools.lru_cache(maxsize=32768)  # asked of every candidate, like takes_as_done
def presumes(text: str, lang: str) -> bool:
    """Whether a question of the text asks how or what one does or likes (``_PRESUMES``)."""
    return _question_with(_PRESUMES, text, lang)


class Stances:
    """What the bot has said it likes or not, and whether a reply says the
    opposite: after 「料理はあまり得意ではないです。」, 「得意料理は餃子です!」
    (the same topic keyword, in a sentence leaning the other way). The corpus
    is many people, so without this the bot's tastes drift within a
    conversation."""

    def __init__(self, said: Sequence[str], lang: str) -> None:
        self._lang = lang
        self._stance: dict[str, int] = {}
        for reply in said:  # oldest first: a later word stands
            for sentence, lean in _leanings(reply, lang):
                # A sentence that names nothing leans on what the reply named
                # (「沖縄いいですね!一度だけですが、行ったことあります!」).
                for keyword in _analyse(sentence, lang)[1] or _analyse(reply, lang)[1]:
                    self._stance[keyword] = lean

    def __contains__(self, reply: str) -> bool:
        if not self._stance:
            return False
        # Most replies name none of them: settled without normalising (a
        # width variant slips through; the check is a preference, not a rule).
        folded = reply.casefold()
        if not any(keyword in folded for keyword in self._stance):
            return False
        for sentence, lean in _leanings(reply, self._lang):
            # A sentence that names nothing leans on what the reply named
            # (「紅茶いいですね!私はとても好きです。」).
            about = sentence if _analyse(sentence, self._lang)[1] else folded
            named = set(_ENGLISH_TOKEN.findall(about)) if self._lang == "en" else None
            for keyword, stance in self._stance.items():
                if stance == -lean and (keyword in named if named is not None else keyword in about or _marks_topic(folded, keyword)):
                    return True
        return False


def _marks_topic(folded: str, keyword: str) -> bool:
    """Whether the reply makes ``keyword`` its topic (お酒は, 紅茶って): then
    each of its sentences leans on it (after 「お酒あまり飲めないんですよー」,
    「お酒は一年前から目覚めました!ワイン大好きです!」)."""
    return re.search(re.escape(keyword) + r"(は|って|も)", folded) is not None


def keyword_doc_id(keyword: str) -> str:
    """A Firestore document id for a keyword (no '/', not '.', '..' or __x__)."""
    escaped = keyword.replace("%", "%25").replace("/", "%2F")
    if escaped in (".", "..") or (escaped.startswith("__") and escaped.endswith("__")):
        escaped = "%" + escaped
    return escaped


def warm_up(langs: Iterable[str] = ("ja", "en")) -> None:
    """Load dictionaries now rather than on the first request."""
    for lang in langs:
        terms("準備" if lang == "ja" else "ready", lang)
