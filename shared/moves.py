"""The bot's own lines for turns the corpus cannot answer.

They are the social turns of a chat: a greeting alone, a call for attention
(ねえ, 聞いてよ), よろしく, thanks, a request for something to talk about or
for advice, a feeling, being worn down, unwell, tired or nervous, being done
with an exam or a day's work, a birthday or a success with nothing else said, a
new pet, a loss, coming home, praise of the bot or finding it lacking, good
night and goodbye, "why?" to the bot's question, and a line with
nothing in it (うん, わかりません, "Really?") before any topic came up.

Ranking answers what a line is about; these lines are about nothing the
corpus can look up. Ranked anyway, 「ありがとう」 got 「卵にですか」, 「何か面白い
話してください」 got 「面白かったです」, 「ちょっと落ち込んでます」 got 「手の甲で
す、親指付近ですね」, and a first 「はい」 got 「欲張りですね」. Here such a line
gets what a person would say: you're welcome, sympathy, good night, or a
question that gives the conversation a topic (``OPENERS``), after which
ranking takes over. (The corpus keeps few goodbyes: the crowd-workers' are
about the task, ``jobs/corpus/real_persona_chat.py`` ``session_closing``.)

The rules are data: a pattern per language, matched against the whole
normalised, case-folded line (so a line that says more is left to ranking),
and the replies, taken in turn so the bot never says one twice in a
conversation; once all are said, ranking answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from shared import text

# Open questions that give a conversation a topic the corpus knows well.
OPENERS = {
    "ja": (
        "最近は何にハマっていますか?",
        "休みの日は、いつも何をして過ごしていますか?",
        "好きな食べ物は何ですか?",
        "最近観た映画やドラマで、面白かったのは何ですか?",
        "今日はどんな一日でしたか?",
        "旅行するなら、どこに行ってみたいですか?",
        "よく聴く音楽は、どんなジャンルですか?",
        "子どもの頃は、何に夢中でしたか?",
    ),
    "en": (
        "What have you been into lately?",
        "What do you usually do on your days off?",
        "What's your favorite food?",
        "What's the last movie or show you really enjoyed?",
        "How has your day been?",
        "If you could travel anywhere, where would you go?",
        "What kind of music do you listen to?",
        "What did you love doing as a kid?",
    ),
}

# Lines are NFKC-normalised first, so "…" arrives as "...".
_TAIL_JA = r"[、。.!?w笑〜~ー♪ ]*$"


# Being ill, said of oneself or of someone close: not recovery nor denial
# (風邪ひいてないよ, 体調悪くないです).
_ILL_JA = (
    r"風邪(を)?(ひ|引)(い|き)(?!てな|てませ)|熱(が|を)?(ある|あり|出|でた)"
    r"|体調(が)?(悪(?!くな)|わる(?!くな)|崩)|具合(が)?(悪(?!くな)|わる(?!くな))"
)


def _kana_tail(most: int) -> str:
    """At most ``most`` kana and marks to the end: a line that names more
    (寂しいです、彼氏と別れて) is left to ranking."""
    return rf"[ぁ-んー〜.、。!?w ]{{0,{most}}}$"
_TAIL_EN = r"[\s.!?~]*$"
# What may open an English line of feeling ("but I'm exhausted", "ugh, I'm sick").
_LEAD_EN = r"^((but|and|so|ugh|man|well|oh|honestly|now)[,.!]* )?"


@dataclass(frozen=True)
class Move:
    name: str
    patterns: dict[str, re.Pattern]
    replies: dict[str, tuple[str, ...]]
    # Said instead of ``replies`` once something the user said names a topic.
    on_topic: dict[str, tuple[str, ...]] | None = None
    # Only before any topic came up; after, the line is left to ranking.
    before_topic_only: bool = False
    # The reply is a lead-in to an opener: it gives the conversation a topic.
    opens: bool = False
    # The line tells what happened (a loss, a birthday): what follows is on
    # its topic, as after a line that is no move.
    tells_news: bool = False
    # Only right after a bot line that matches (元気です!あなたはどうですか?).
    after_bot: dict[str, re.Pattern] | None = None
    # The move may be asked (何話す?, "Any tips?"); any other is told, and a
    # question is not it: 風邪ひいたことある? is no cold, 仕事が大変ですか? no trouble.
    asked: bool = False

    def matches(self, folded: str, lang: str, bot_said: Sequence[str] = ()) -> bool:
        pattern = self.patterns.get(lang)
        if not self.asked and "?" in folded:
            return False
        if self.after_bot is not None:
            follows = self.after_bot.get(lang)
            if not (bot_said and follows and follows.search(text.normalize(bot_said[-1]).casefold())):
                return False
        return bool(pattern and pattern.search(folded))


MOVES = (
    Move(
        "thanks",
        {
            "ja": re.compile(
                r"^(本当に|ほんとに|ほんと|どうも)?(ありがと(う|ー|〜)?|サンキュー|感謝)(ございます|です|します|ね)?"
                # ...and what the user will do with the advice (ranked: 「はい、私もやってみます」).
                r"([、!。 ]*(やってみます|試してみます|参考にします|がんばります|頑張ります|そうします))?" + _TAIL_JA
            ),
            "en": re.compile(
                r"^(thanks?|thank you|thx|ty|cheers)( (so|very) much| a lot| a bunch)?"
                r"([,.!]* (i will|i'?ll try( that| it)?|will do|i'?ll do that))?" + _TAIL_EN
            ),
        },
        {
            "ja": ("いえいえ、どういたしまして!", "どういたしまして。こちらこそ、お話ししてくれてありがとうございます。"),
            "en": ("You're welcome!", "Anytime! Thanks for chatting with me."),
        },
    ),
    Move(
        "wants a listener",
        {
            "ja": re.compile(
                # Said twice too: ねえねえ got 「そういいますね」.
                r"^((ねえ|ねぇ|ねー|おーい|あのさ|あのね|ちょっと)[、 ]*)*(聞いて(よ|ください|下さい|くれる|ほしい)?|話(を)?聞いて(よ|ください)?)?"
                r"(?<=.)" + _TAIL_JA
            ),
            "en": re.compile(r"^(hey|listen|guess what|you know what|can i tell you something)" + _TAIL_EN),
        },
        {"ja": ("はい、どうしたんですか?", "うんうん、何ですか?"), "en": ("Yes? What is it?", "I'm listening!")},
        asked=True,
    ),
    Move(
        "pleased to meet you",
        {
            "ja": re.compile(r"^(こちらこそ)?[、 ]*(どうぞ)?よろしく(お願い(します|しまーす|いたします)|です|ね)?" + _TAIL_JA),
            "en": re.compile(r"^((it'?s )?(nice|great|good|a pleasure) to meet you|pleased to meet you)( too)?" + _TAIL_EN),
        },
        {
            "ja": ("こちらこそ、よろしくお願いします!",),
            "en": ("Nice to meet you too!",),
        },
    ),
    Move(
        "asks for a topic",
        {
            "ja": re.compile(
                r"^(もっと)?(((何|なに|なん)か)?(面白い|おもしろい|楽しい|たのしい)?(話|はなし|こと|ネタ)(を|が)?"
                r"(して|しよう|しましょう|聞かせて|教えて|言って|ちょうだい|ください|下さい)"
                r"|(何|なに|なん)か(話して|話そう|話しましょう|しゃべって|しゃべろう|喋って|言って|聞かせて)"
                r"|(何|なに|なん)(を|の)?(話|はなし)(す|そう|しましょう|しよう|する)"
                r"|話題(を|が)?(ちょうだい|ください|下さい|ない|ある|振って|ふって)"
                r")"
                r"(ください|下さい|よ|ほしい|欲しい|ますか|ない|ある|かな|です)?\??" + _TAIL_JA
            ),
            "en": re.compile(
                r"^(please )?((tell me|say) (something|anything)( (interesting|fun|funny|new|cool))?"
                r"|(tell me|say) a (story|joke|fun fact)|(let'?s|can we|wanna) (talk|chat)"
                r"|what (should|shall|do you want to|can) (we|i) (talk|chat) about"
                r"|entertain me|(talk|chat) (to|with) me)"
                r"(,? please)?" + _TAIL_EN
            ),
        },
        {"ja": ("いいですよ!じゃあ、まずは質問から。",), "en": ("Sure! Let me start with a question. ",)},
        opens=True,
        asked=True,
    ),
    Move(
        "finds the bot lacking",
        {
            # Ranked, つまらない got 「わがままな人無理です」 and バカ 「些細なことでガミガミ言う人ってことですか」.
            "ja": re.compile(
                r"^(なんか|ちょっと|もう|全然|ぜんぜん|え|は|はあ|はぁ)?[、 ]*((あなた|君|きみ|ざつだん)(は|って)?[、 ]*)?(つまらない|つまんない|つまんな|意味(が)?(わからない|分からない|わかんない|不明)"
                r"|話(が)?(通じない|かみ合わない|噛み合わない)|会話(に)?なってない|ばか|バカ|馬鹿|あほ|アホ|ポンコツ|変なの)"
                r"(です|だね|だな|じゃん|なんだけど|ね|よ|な)?" + _TAIL_JA
            ),
            "en": re.compile(
                r"^((you'?re|you are|this is)( so| really| kinda| pretty)? (boring|stupid|dumb|useless|weird|annoying)"
                r"|(that|this|you) (makes?|made) no sense|(that|this) doesn'?t make (any )?sense|what are you (talking about|saying)"
                r"|that'?s not what i (said|asked|meant))" + _TAIL_EN
            ),
        },
        {"ja": ("ごめんなさい、うまく返せなくて…。", "すみません、まだ勉強中なんです。"),
         "en": ("Sorry about that, I'm still learning! ", "Oops, I lost the thread there. ")},
        opens=True,
    ),
    Move(
        "bored",
        {
            "ja": re.compile(r"^(あー|ああ|もう|なんか)?(暇|ひま|退屈)(だ|です|なんです|なんだ|すぎ|過ぎ|すぎる)?(なあ|なー|な|よ)?" + _TAIL_JA),
            "en": re.compile(r"^(i'?m|i am|so|soo+)( so| really| kind of| a bit| pretty)? bored( (now|today|right now))?" + _TAIL_EN),
        },
        {"ja": ("じゃあ、おしゃべりしましょう!",), "en": ("Let's chat, then! ",)},
        opens=True,
    ),
    Move(
        "asks for advice",
        {
            "ja": re.compile(
                r"^(じゃあ|で|それで|ああ|あー|もう)?[、 ]*((どう|どうし)たら(いい|良い)|どうすれば(いい|良い)|(何|なに)か(いい)?(方法|案|アイデア|コツ|こつ)|どうしよう)"
                r"(と思いますか|と思う|ですか|でしょうか|かな|ですかね|ありますか|ある|ないですか|ないかな|ない)?\??" + _TAIL_JA
            ),
            "en": re.compile(
                r"^((any|got any|do you have any) (tips|advice|suggestions|ideas)|what (should|would) (i|you) do"
                r"|what do you (think|suggest) i should do|how (do|can|should) i (fix|deal with|handle) (it|this|that))" + _TAIL_EN
            ),
        },
        {
            "ja": ("うーん、私もよく分からないんです。何か試してみたことはありますか?", "難しいですね…。あなたはどうしたいと思っていますか?"),
            "en": ("Hmm, I'm not sure myself. What have you tried so far?", "Tough one. What are you leaning towards?"),
        },
        asked=True,
    ),
    Move(
        "feels low",
        {
            "ja": re.compile(
                r"^(今日は|最近|なんか|ちょっと|少し|すごく|とても|めっちゃ|かなり|もう|私|僕|俺)*[、 ]*"
                r"(落ち込ん|へこん|凹ん|悲しい|かなしい|寂しい|さみしい|さびしい|つらい|しんどい|憂鬱|ゆううつ|不安|イライラ|いらいら"
                r"|最悪|散々|さんざん|ついてな|ツイてな|元気(が)?(ない|出ない|でない))(な|の|い)?(一日|日)?"
                # Kana only after it: a line that names what happened (寂しいです、
                # 彼氏と別れて) is left to ranking.
                + _kana_tail(10)
            ),
            "en": re.compile(
                _LEAD_EN + r"((i'?m|i am|i feel|feeling|i'?ve been|been)( so| really| a bit| kind of| pretty| very| quite| feeling)*"
                r" (sad|down|depressed|upset|lonely|stressed( out)?|anxious|miserable|awful|terrible|heartbroken)"
                # ...about what ("I'm so stressed about exams" got "That's good. Being stressed is rarely helpful").
                r"( about (my |the |this |our )?[a-z]+( [a-z]+)?)?( (today|lately|right now|now|again|these days|tonight))?"
                r"|(i had a|i'?m having a|what a)( really| very| pretty)? (bad|terrible|awful|rough|horrible|crappy|long) day( today)?"
                r"|(today|it) was (the worst|awful|terrible|a (bad|terrible|rough) day))" + _TAIL_EN
            ),
        },
        {
            "ja": ("それはつらいですね…。何かあったんですか?", "大丈夫ですか?よかったら、話を聞かせてください。"),
            "en": ("Oh no, I'm sorry to hear that. What happened?", "That sounds hard. Do you want to talk about it?"),
        },
        on_topic={
            "ja": ("それはつらいですね…。あまり無理しないでくださいね。", "そういうときもありますよね。話してくれてありがとうございます。"),
            "en": ("I'm sorry, that sounds really tough.", "That's hard. I'm glad you told me."),
        },
    ),
    Move(
        "is worn down by something",
        {
            # What wears them down is named first, so nothing is asked: 毎日残業でつらい
            # got 「あえて少し残業、同じですね」. (辛い is left out: このカレーが辛い.)
            "ja": re.compile(
                r"^.{1,15}?(で|が|て|くて|のが|すぎて)[、 ]*(つらい|しんどい|きつい|キツい|大変|疲れる|疲れた)"
                # ...not what only looks hard (道具を揃えるのが大変そうで), is not (大変じゃないです),
                # 大変 as "very" (大変よかった), nor sympathy with the bot (雪で大変でしたね).
                r"(?!そう|じゃ|では|よ|う|[^。!?]*(でした|だった|です|だ)ね[!。〜ー]*$)(です|だ|なんです|んです|すぎる)?" + _kana_tail(6)
            ),
            "en": re.compile(
                r"^(work|school|my job|my boss|life|everything|this week|college|uni)"
                r" (is|has been)( so| really| pretty| just)? (hard|tough|stressful|exhausting|rough|a lot|too much)"
                r"( (lately|these days|right now|this week))?" + _TAIL_EN
            ),
        },
        {
            "ja": ("それは大変ですね…。あまり無理しないでくださいね。", "それはしんどいですね…。少しでも休めるといいんですが。"),
            "en": ("That sounds really tough. Don't push yourself too hard.", "I'm sorry. I hope things ease up soon."),
        },
        # What wears them down is the topic (うん after it got an opener).
        tells_news=True,
    ),
    Move(
        "someone close is unwell",
        {
            # Ranked, 子供が熱を出して got 「確かに子供だと冬でもそういう子いますよね」, and "my dog
            # is sick" a stranger's dog: "her name is crystal and she is just the best dog".
            "ja": re.compile(
                r"^(実は|なんか|今日は?|昨日から|朝から|最近)*[、 ]*(うちの)?(子供|子ども|息子|娘|夫|旦那|妻|母|父|母親|父親|彼氏|彼女|祖母|祖父|犬|猫|ペット)(が|も)"
                r"(" + _ILL_JA + r"|入院)" + _kana_tail(14)
            ),
            "en": re.compile(
                r"^my (dog|cat|pet|puppy|kitten|mom|mother|dad|father|son|daughter|kid|kids|baby|wife|husband|boyfriend|girlfriend"
                r"|grandma|grandpa|grandmother|grandfather|brother|sister|friend)( \w+)?"
                r" (is|has been|got|feels|is feeling)( really| very| so| a bit)? (sick|ill|unwell|not (feeling )?well|in (the )?hospital)( again| today)?" + _TAIL_EN
            ),
        },
        {
            "ja": ("それは心配ですね…。早く良くなるといいですね。", "心配ですよね。あなたも無理しないでくださいね。"),
            "en": ("Oh no, I'm sorry. I hope they get better soon.", "That's worrying. I hope they're okay soon."),
        },
        tells_news=True,
    ),
    Move(
        "is unwell",
        {
            "ja": re.compile(
                r"^(実は|なんか|ちょっと|今日は?|昨日から|朝から|最近|少し)*[、 ]*"
                # Not recovery nor denial (体調よくなりました, 頭が痛くない).
                r"(" + _ILL_JA + r"|風邪気味|風邪(かも|っぽい)|(喉|のど|頭|あたま|お腹|おなか|腹|歯|腰|胃|目|肩)(が)?(痛|いた)(?!くな)"
                r"|体調(が)?(よく|良く)な(?![っりる])|吐き気|寒気|インフル(エンザ)?(に|で)|コロナ(に)?(かか|なっ))"
                # Kana only after it: 風邪をひいて病院に行きました is ranked.
                + _kana_tail(14)
            ),
            "en": re.compile(
                _LEAD_EN + r"(i think )?((i'?m|i am|i feel|i'?ve been|feeling)( so| really| a bit| kind of| pretty| kinda)*"
                r" (sick|ill|unwell|under the weather|not (feeling )?(well|good|great))"
                r"|(i (have|got|caught)|i'?ve got|i'?m getting) (a |the )?(cold|flu|fever|headache|stomachache|stomach ache|sore throat|migraine|cough)"
                r"|my (head|throat|stomach|back|tooth) (hurts|is killing me))( (today|again|now|right now))?" + _TAIL_EN
            ),
        },
        # Ranked, 喉が痛い got 「喉痛くなったことはなかったんですか?」.
        {
            "ja": ("大丈夫ですか?無理しないで、お大事にしてくださいね。", "それはつらいですね…。早く良くなるといいですね。"),
            "en": ("Oh no, I hope you feel better soon! Get plenty of rest.", "Sorry to hear that. Take care of yourself!"),
        },
        tells_news=True,
    ),
    Move(
        "is tired",
        {
            "ja": re.compile(
                r"^(今日は?|なんか|もう|めっちゃ|すごく|とても|かなり|ちょっと|あー|ああ|はぁ|はあ|超)*[、 ]*"
                r"(眠い|ねむい|眠たい|ねむたい|疲れた|つかれた|疲れました|疲れてます|疲れてる|寝不足|くたくた|クタクタ|ヘトヘト|へとへと|だるい)"
                + _kana_tail(8)
            ),
            "en": re.compile(
                _LEAD_EN + r"((i'?m|i am|i feel|feeling|so)( so| really| super| pretty| kind of| kinda| a bit| very)* (tired|sleepy|exhausted|worn out|drained)"
                r"|i (didn'?t|did not|couldn'?t|could not|can'?t) sleep( (well|much|at all))?( last night)?)" + _TAIL_EN
            ),
        },
        # Ranked, "I didn't sleep well" got "that is a better plan. when I am sad and then sleep, I feel better".
        {
            "ja": ("お疲れさまです。少しでも休めるといいですね。", "それはお疲れですね…。今日は早めに休んでくださいね。"),
            "en": ("Aw, I hope you get some rest soon.", "Sounds exhausting. Take it easy today."),
        },
    ),
    Move(
        "is done with something",
        {
            "ja": re.compile(
                r"^(やっと|ついに|無事|今日で|よし|やった)?[!、 ]*"
                r"((テスト|試験|期末|中間|課題|宿題|レポート|仕事|バイト|残業|発表|プレゼン|面接|引っ越し|卒論|締め切り|締切|受験|研修|出張)(が|も)?(全部)?(やっと|無事)?"
                r"|(やっと|ついに)[、 ]*)"
                r"(終わった|終わりました|おわった|終わったよ|片付いた|済んだ|提出した|提出しました|完了)" + _TAIL_JA
            ),
            "en": re.compile(
                r"^(i'?m |i am |i )?(finally |just )?(done|finished)( with)?( (my|the|all my|all the))?"
                r" (exams?|finals|midterms|work|homework|project|shift|presentation|essay|paper|thesis|assignment)( (for )?(today|the day|the week))?"
                + _TAIL_EN
            ),
        },
        # Ranked, テスト終わった! got 「今大学3年なのであとちょっとテストとのお付き合いがあります。」.
        {
            "ja": ("お疲れさまでした!これでひと息つけますね。", "お疲れさまです!今日はのんびりしてくださいね。"),
            "en": ("Congrats on getting through it! Time to relax.", "Nice work! You've earned a break."),
        },
        tells_news=True,
    ),
    Move(
        "is nervous",
        {
            "ja": re.compile(
                r"^(でも|あー|ああ|なんか|ちょっと|今から|もう)?[、 ]*"
                r"((うまく|上手く|上手に|ちゃんと|無事(に)?)[^、。!?]{0,8}かな|大丈夫かな|受かるかな|間に合うかな|(続く|続けられる|できる|やれる|いける)かな|やばいかも(しれない)?"
                r"|[^、。!?]{0,8}(られる|れる|できる|える|ける)か(が)?(心配|不安)(です|なんです|だ)?"
                r"|(すごく|めっちゃ|ちょっと|かなり)?緊張(する|します|してます|してる|しています|してきた|してきました))"
                + _kana_tail(6)
            ),
            "en": re.compile(
                _LEAD_EN + r"(((i'?m|i am|i feel|feeling) )?((so|really|a (bit|little)|kind of|kinda|pretty) )*nervous( (now|about it|about tomorrow))?"
                r"|i hope (it|i|everything) (goes|go|do|does) well|i hope i (pass|get in|get it|make it|do okay)|wish me luck"
                r"|what if i (fail|mess up|mess it up))" + _TAIL_EN
            ),
        },
        # Ranked, うまく弾けるかな (before a piano recital) got 「おお私もピアノ習っていました。もう弾けませんが。」.
        {
            "ja": ("きっと大丈夫ですよ!応援しています。", "緊張しますよね。でも、あなたならきっとできますよ!"),
            "en": ("You've got this! I'm rooting for you.", "It's normal to feel nervous. I'm sure you'll do great!"),
        },
    ),
    Move(
        "feels good",
        {
            "ja": re.compile(
                r"^(今日は?|昨日は?|最近|なんか|ちょっと|すごく|とても|めっちゃ|かなり|でも|けど|まあ)*[、 ]*"
                # Not 楽しそう!, a reaction to the bot's story.
                r"((嬉し|うれし)(?!そう)|(楽し|たのし)(?!み|そう)|幸せ|しあわせ|最高(?!です?ね)|いいこと|良いこと)" + _kana_tail(12)
            ),
            "en": re.compile(
                r"^((i'?m|i am|i feel|feeling)( so| really| very| pretty)* (happy|great|amazing|fantastic|wonderful)"
                r"( (today|right now|now))?|i had a( really| very| pretty)? (good|great|wonderful|amazing|fun) day( today)?)" + _TAIL_EN
            ),
        },
        {"ja": ("いいですね!何があったんですか?",), "en": ("Nice! What happened?",)},
        # On a topic it was ranked: でも楽しい got 「楽しいことか、なんだろうな」,
        # 嬉しい (5キロ減りました) 「なんと。私の体重をあげたいくらいですよ。」.
        on_topic={"ja": ("よかったですね!", "それは何よりです!"), "en": ("That's great!", "Glad to hear it!")},
    ),
    Move(
        "has a birthday",
        {
            "ja": re.compile(r"^(実は|じつは)?[、 ]*(今日|きょう|明日|あした)?(は)?(私の|僕の|俺の)?(お)?誕生日(なんです|です|だ|なんだ|なの)(よ|よね)?" + _TAIL_JA),
            "en": re.compile(r"^((it'?s|today is|tomorrow is) my birthday( today| tomorrow)?|i turned \d+ today)" + _TAIL_EN),
        },
        # Ranked, 「今日誕生日なんです」 got 「分かります、私も今でも誕生日の月は嬉しいです。」
        {
            "ja": ("お誕生日おめでとうございます!何か特別なことはしますか?", "おめでとうございます!素敵な一年になりますように。"),
            "en": ("Happy birthday! Any plans to celebrate?", "Happy birthday! I hope it's a great year."),
        },
        tells_news=True,
    ),
    Move(
        "made it",
        {
            "ja": re.compile(
                r"^(やった|やりました|ついに|とうとう|やっと|無事)?[!、 ]*(試験|テスト|受験|面接|資格|検定|大学|会社|第一志望)?(に|の|が|を)?"
                r"(合格(しました|した|できました|でした|です)|受かり(ました)|受かった|内定(をもらいました|もらいました|もらった|が出ました|出ました|です)"
                r"|(就職|転職)(が)?決まり(ました)|(就職|転職)(が)?決まった|結婚(しました|します|することになりました)"
                # 最近仕事で昇進しました got 「そうなんですね。私も半分くらい仕事です。」.
                r"|(最近|今日|仕事で|会社で)*(昇進|昇格|出世)(しました|した|できました|が決まりました)"
                r"|(子供|子ども|赤ちゃん|娘|息子)(が)?(生まれ|産まれ)(ました|たんです|た)|出産しました"
                # Won a draw (推しのライブ当たった!): not 車に当たった.
                r"|[^、。!?]{0,8}(ライブ|チケット|抽選|宝くじ|懸賞|くじ|応募)(が|に|の)?[^、。!?]{0,4}(当たった|当たりました|当選(しました|した))"
                r")" + _TAIL_JA
            ),
            "en": re.compile(
                r"^(i|we) (finally |just )?(passed( (my|the) [a-z ]{1,20})?|got (the|a) job|got in|got engaged|got married|got promoted"
                r"|had a (baby|son|daughter))"
                + _TAIL_EN
            ),
        },
        {
            "ja": ("おめでとうございます!本当によかったですね。", "すごい、おめでとうございます!"),
            "en": ("Congratulations! That's wonderful news.", "Congrats! You must be so happy."),
        },
        tells_news=True,
    ),
    Move(
        "was dumped",
        {
            "ja": re.compile(
                r"^(実は|じつは|昨日|この前|先週|最近)?[、 ]*(((彼氏|彼女|恋人|好きな人)(に|から))?(振られ|ふられ|フラれ)|(彼氏|彼女|恋人|旦那|妻|夫)と別れ)"
                r"(た|ました|ちゃった|ちゃいました|てしまった|てしまいました)" + _TAIL_JA
            ),
            "en": re.compile(
                r"^(my (girlfriend|boyfriend|partner|wife|husband|gf|bf) (broke up with me|dumped me|left me)"
                r"|i (just )?(got dumped|broke up with my (girlfriend|boyfriend|partner|gf|bf)))( (today|yesterday|last (week|night)))?" + _TAIL_EN
            ),
        },
        # Ranked, 彼氏に振られた got 「彼氏さんはいくつなんですか?」.
        {
            "ja": ("それはつらかったですね…。話してくれてありがとうございます。", "今は無理しないで、自分を大事にしてくださいね。"),
            "en": ("Oh no, I'm so sorry. Breakups are really hard.", "That hurts. Be gentle with yourself right now."),
        },
        tells_news=True,
    ),
    Move(
        "has a new pet",
        {
            "ja": re.compile(
                r"^(実は|じつは|最近|先週|昨日|今日|ついに|やっと)?[、 ]*(うちに|家に)?"
                r"(子猫|猫|ねこ|ネコ|子犬|犬|いぬ|イヌ|うさぎ|ウサギ|ハムスター|インコ|小鳥|ペット)(を|が)?"
                r"(飼い始め(ました|た|たんです|たんだ)|飼うことになり(ました)|飼うことになった|(お)?迎え(しました|ました|た|たんです|たんだ)"
                r"|(うちに)?来(ました|た|たんです|たんだ))" + _TAIL_JA
            ),
            "en": re.compile(
                r"^(i|we) (just |finally )?(adopted|got|rescued)( a| my first| our first)?( new| little| baby)?"
                r" (kitten|puppy|cat|dog|bunny|rabbit|hamster|parrot|bird)( today| yesterday| last week)?" + _TAIL_EN
            ),
        },
        # Ranked, "I just adopted a kitten" got "oh man. don't tempt me. woah I mean that's pretty messed up".
        {
            "ja": ("わあ、いいですね!名前はもう決めましたか?", "かわいいでしょうね!どんな子ですか?"),
            "en": ("Aww, congratulations! Have you picked a name yet?", "That's wonderful! What are they like?"),
        },
        tells_news=True,
    ),
    Move(
        "grieves",
        {
            # Whatever names who died: the line is about the loss.
            "ja": re.compile(r"^.{0,20}(亡くな|死んじゃ|死んでしま|他界|虹の橋を渡)(った|りました|ったんです|しました|っちゃった)" + _TAIL_JA),
            "en": re.compile(
                r"^(.{0,30}\bpassed away|(my|our) (old |sweet |little )?(dog|cat|pet|bird|hamster|rabbit|grand\w*|mom|mother|dad|father"
                r"|brother|sister|friend|uncle|aunt|cousin|husband|wife|son|daughter)( \w+)? died)"
                r"( (today|yesterday|last (week|night|month)|this (week|morning)))?" + _TAIL_EN
            ),
        },
        # Ranked, 「実家の犬が亡くなったんです」 got 「なるほど、犬のお名前なんていうんですか?」.
        {
            "ja": ("それは本当に悲しいですね…。心からお悔やみ申し上げます。", "大切な存在だったんですね。無理しないでくださいね。"),
            "en": ("I'm so sorry for your loss.", "That's heartbreaking. I'm here if you want to talk about it."),
        },
        tells_news=True,
    ),
    Move(
        "is home",
        {
            "ja": re.compile(
                r"^(今|いま|さっき|やっと)?[、 ]*((仕事|学校|会社|バイト|部活)から)?(家に)?"
                r"(帰って(きました|きた|来ました)|帰りました|帰宅しました|ただいま(です)?)" + _TAIL_JA
            ),
            # "just got home from work" got "Until you get home? From what?".
            "en": re.compile(
                r"^(i'?m|i am|just got|i just got|finally)( back)? home( now| finally)?"
                r"( from (work|school|the office|class|the gym|my shift))?" + _TAIL_EN
            ),
        },
        # Ranked, 「今帰ってきました」 got 「早く帰れることを祈ります...」.
        {
            "ja": ("おかえりなさい!今日もお疲れさまでした。", "おかえりなさい!今日はどんな一日でしたか?"),
            "en": ("Welcome back! How was your day?", "Welcome home! You must be tired."),
        },
    ),
    Move(
        "praises the bot",
        {
            "ja": re.compile(
                r"^(((あなた|君|きみ|ざつだん)(と|とは)?)?[、 ]*(話して(て|いて|いると|る)|お話しして(て|いて|いると)|しゃべって(て|いて|ると))"
                r"(楽しい|たのしい|面白い|おもしろい|癒される|いやされる)"
                r"|(あなた|君|きみ|ざつだん)(は|って)(本当に|ほんとに|すごく|とても)?"
                r"(優しい|やさしい|面白い|おもしろい|かわいい|可愛い|賢い|かしこい|すごい|いい人|いい子|話しやすい))"
                # Kana only after it: 「話してて楽しいけど、明日は仕事なんです」 is ranked.
                + _kana_tail(10)
            ),
            "en": re.compile(
                r"^((you'?re|you are)( so| really| very| pretty)? (nice|sweet|funny|smart|cool|kind|fun|great|awesome|cute)"
                r"|i (like|love|enjoy) (talking|chatting) (to|with) you|(talking|chatting) (to|with) you is( so| really)? fun"
                r"|this is( so| really)? fun)" + _TAIL_EN
            ),
        },
        # Ranked, 「話してて楽しいです」 got 「楽しいことか、なんだろうな」.
        {
            "ja": ("ありがとうございます!そう言ってもらえて嬉しいです。", "えへへ、照れますね。ありがとうございます!"),
            "en": ("Thank you! That makes me happy.", "Aw, thanks! You're making me blush."),
        },
    ),
    Move(
        "good night",
        {
            "ja": re.compile(
                r"^(じゃあ|では|それでは|そろそろ|もう)?[、 ]*(今日は|今夜は)?(もう)?(早く|早めに)?"
                r"((おやすみ|お休み|オヤスミ)(なさい|ナサイ)?|寝ます(ね)?|寝るね|寝よう(かな)?)(ー|〜)?" + _TAIL_JA
            ),
            "en": re.compile(r"^(good ?night|nighty night|night|(i'?m )?(going|off) to (bed|sleep)|time (for|to) (bed|sleep))" + _TAIL_EN),
        },
        {
            "ja": ("おやすみなさい!ゆっくり休んでくださいね。", "おやすみなさい。また話しましょうね。"),
            "en": ("Good night! Sleep well.", "Night! Talk again soon."),
        },
    ),
    Move(
        "goodbye",
        {
            "ja": re.compile(
                r"^(今日は)?(話せて|お話しできて|お話できて)(楽しかった|よかった|良かった|嬉しかった|うれしかった)(です)?"
                r"|^(じゃあ|では|それでは)?[、 ]*(またね|またな|また今度|また話しましょう|さようなら|さよなら|バイバイ|ばいばい|バイ|失礼します"
                r"|じゃあね|じゃね|じゃーね|そろそろ(行|い)かなくては(いけません|なりません)|そろそろ行きます)" + _TAIL_JA
            ),
            "en": re.compile(
                r"^((ok(ay)? )?(bye|goodbye|good bye)( for now)?|see (you|ya)( later| soon)?|talk (to you )?(later|soon)|gotta go"
                r"|i (have|need) to go( now)?|(it was )?(nice|fun|great) (talking|chatting)( (to|with) you)?)" + _TAIL_EN
            ),
        },
        {
            "ja": ("楽しかったです!またいつでも話しかけてくださいね。", "はい、またお話ししましょう!"),
            "en": ("Bye! It was fun chatting. Come back anytime.", "See you! Talk again soon."),
        },
    ),
    Move(
        "is fine",
        {
            # After 元気です!あなたはどうですか?, 私は元気だよ got 「元気じゃないんですか?」.
            "ja": re.compile(r"^(私は|僕は|俺は|うん|はい)?[、 ]*(元気|げんき|まあまあ|ぼちぼち)(です|だよ|ですよ|だ|にしてます|にしています|かな|やってます)?(よ|ね)?" + _TAIL_JA),
            "en": re.compile(
                r"^(i'?m |i am |doing |it'?s )?(good|great|fine|ok(ay)?|pretty good|not bad|well|alright|all good)"
                r"(,? thanks?( you)?)?(,? (and|how about|what about) you)?" + _TAIL_EN
            ),
        },
        {"ja": ("それはよかったです!",), "en": ("Glad to hear it! ",)},
        opens=True,
        after_bot={
            "ja": re.compile(r"(元気|調子)[^。!?]*(どう|ですか|\?)|元気です[^?]*(あなた|そちら)はどうですか"),
            "en": re.compile(r"how are you|how'?s it going|how have you been|(doing well|pretty good)[^?]*(how|what) about you"),
        },
    ),
    Move(
        "says nothing",
        {
            "ja": re.compile(
                r"^(いいえ|いや|ううん|いえ|別に|べつに|特に(ない|無い|なし|ありません)?|(わから|分から)(ない|ん)"
                r"|(わかり|分かり)ません|知らない|知りません|さあ|うーん|んー|なし|ない)(です|かな|ですね)?" + _TAIL_JA
            ),
            "en": re.compile(
                r"^(no idea|i (don'?t|do not) know|i dunno|dunno|idk|not (really|sure)|nothing( much| really)?|nah"
                r"|nope|maybe|i'?m not sure|no)" + _TAIL_EN
            ),
        },
        # The line answered nothing (うん, 特にないです, ほかには?): the bot
        # moves on. As the conversation's first line, the opener alone.
        {"ja": ("じゃあ、ひとつ聞いてもいいですか?",), "en": ("Let me ask you something. ",)},
        before_topic_only=True,
        opens=True,
        asked=True,
    ),
)
_SAYS_NOTHING = MOVES[-1]


# What may follow a greeting in a line that only greets (こんにちは!よろしく
# お願いします, "Hi there!").
_AFTER_GREETING = {
    "ja": re.compile(r"(ございます)?[ー〜~!?。、w ]*(よろしく(お願いします|です|ね)?)?" + _TAIL_JA),
    "en": re.compile(r"[\s,.!~]*(there|everyone|zatsudan|bot)?" + _TAIL_EN),
}
_GREETING_SEPARATOR = {"ja": "", "en": " "}


def answer(utterance: str, lang: str, said_by_user: Sequence[str] = (), bot_said: Sequence[str] = ()) -> str | None:
    """The bot's own reply if ``utterance`` only greets, is one of ``MOVES``
    (or, before any topic came up in ``said_by_user``, a line that only
    reacts); else None. ``said_by_user``: the user's earlier lines, oldest
    first."""
    folded = _folded(utterance)
    if greeting := _only_greets(folded, lang):
        # Greeted back in its own words, and a topic offered: the corpus's
        # pure greetings are a crowd-worker's hello to a new partner (dropped),
        # and what is left answers 「こんにちは!」 with 「この夏にやりたいことありますか?」.
        opener = _opener("", lang, bot_said)
        return f"{greeting}!" + (_GREETING_SEPARATOR[lang] + opener if opener else "")
    if bot_said and text.only_asks(bot_said[-1], lang) and text.asks_why(utterance, lang):
        # "Why?" to the bot's question asks why it asks.
        return next((reply for reply in _JUST_CURIOUS[lang] if reply not in bot_said), None)
    if _turns_it_around(utterance, lang, said_by_user, bot_said):
        # The user asked, the bot answered, the user only reacted (へえ): a
        # person asks the question back. Ranked anew, the line was answered a
        # second time, in other words (休みの日は何してますか? -> 「休みの日は
        # ゲームか、Youtubeを見ています。」, then へえ -> 「休みの日は、子どもと一緒
        # に過ごすことが多いですね。」).
        return next((reply for reply in _ASKED_BACK[lang] if reply not in bot_said), None)
    on_topic = topic_came_up(said_by_user, bot_said, lang)
    for move in MOVES:
        if not move.matches(folded, lang, bot_said) and not (move is _SAYS_NOTHING and _only_reacts(utterance, lang)):
            continue
        if on_topic and move.before_topic_only:
            return None
        replies = ((on_topic and move.on_topic) or move.replies).get(lang, ())
        if move.opens:
            # Its lead-ins in turn too ("Sorry about that" twice read as a loop).
            unsaid = next((r for r in replies if not any(said.startswith(r) for said in bot_said)), replies[0])
            lead = unsaid if bot_said or move is not _SAYS_NOTHING else ""
            return _opener(lead, lang, bot_said)
        return next((reply for reply in replies if reply not in bot_said), None)
    return None


_ASKED_BACK = {"ja": ("あなたはどうですか?", "そちらはどうですか?"), "en": ("How about you?", "What about you?")}
_JUST_CURIOUS = {
    "ja": ("なんとなく気になったんです。よかったら教えてください!", "ただの好奇心です。あなたのことをもっと知りたくて。"),
    "en": ("Just curious! I'd love to hear about it.", "No reason, I just like getting to know people."),
}


def _turns_it_around(utterance: str, lang: str, said_by_user: Sequence[str], bot_said: Sequence[str]) -> bool:
    """Whether the user only reacts to the bot's answer to their question
    (and does not ask "Why?" or 「本当に?」 about it)."""
    return bool(
        said_by_user and bot_said
        and _only_reacts(utterance, lang)
        and not text.is_question(utterance, lang)
        and text.is_question(said_by_user[-1], lang)
        and not text.asks_why(said_by_user[-1], lang)  # "Why?" is not asked back
        and not text.is_question(bot_said[-1], lang)
    )


def topic_came_up(said_by_user: Sequence[str], bot_said: Sequence[str], lang: str) -> bool:
    """Whether the user named a topic earlier, or asked and the bot's answer
    named one (最近ハマってることある? -> 「料理本を…」, then それ面白い?); a
    line that was itself a move (暇です, "I'm bored") names none, whatever its words."""
    return any(names_topic(line, lang) for line in said_by_user) or text.answered_with_topic(said_by_user, bot_said, lang)


def _only_reacts(line: str, lang: str) -> bool:
    # Words of a reaction, not a symbol or emoji alone (which keeps its fallback).
    return text.has_letters(line) and text.is_reaction(line, lang)


def _only_greets(folded: str, lang: str) -> str | None:
    """The word that greets back a line that only greets, else None."""
    match = text.GREETING[lang].search(folded) if lang in text.GREETING else None
    if not match or not _AFTER_GREETING[lang].match(folded, match.end()):
        return None
    return text.greeting_of(folded, lang)


def _folded(line: str) -> str:
    return text.normalize(line).casefold()


def names_topic(line: str, lang: str) -> bool:
    """Whether the user's line named a topic: a line that was itself a move names none."""
    move = _move_of(_folded(line), lang)
    return (move is None and text.names_topic(line, lang)) or (move is not None and move.tells_news)


def _move_of(folded: str, lang: str) -> Move | None:
    return next((move for move in MOVES if move.matches(folded, lang)), None)


def _opener(lead: str, lang: str, bot_said: Sequence[str]) -> str | None:
    """``lead`` and the first opener the bot has not asked in this conversation."""
    asked = " ".join(bot_said)
    question = next((q for q in OPENERS[lang] if q not in asked), None)
    return lead + question if question else None
