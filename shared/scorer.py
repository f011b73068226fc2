"""Scorer methods: from an utterance event to a reply and a selection log.

One read per line: ``conversations/{c}`` holds the owner and the recent
turns (``shared/stores.py``). Idempotent on ``message_id``: the decision
(reply + log) is created once in ``decisions/{message_id}`` together with
the conversation's new turns (and, with replies in Firestore, the reply), in
one atomic batch. A message the
conversation may already have answered (its id is among or older than the
kept turns) is looked up there first and, if decided, replayed before
anything else (no owner check, no ranking), so a redelivery writes exactly
the stored reply even when a fresh instance could not rank now. Any other
message is decided; if its decision exists after all (a concurrent delivery,
or one whose turns have left the window), the create fails and the stored
one is replayed. The reply never changes once written and the log sink sees
one message id however often the event arrives.

A conversation belongs to its first speaker, race-free: the first decision
of a conversation creates ``conversations/{c}`` (with its ``user_id``) with a
create-only precondition in the same batch. Two users racing the first line
of one conversation id both try; one commit wins, the other fails, re-reads
the conversation and is refused (dead-lettered). The owner is never
rewritten; later lines rewrite the document only if it is still the version
they read, so concurrent lines never lose each other's turns.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol, Sequence

from shared import faults as faults_module, moves, persona, text, timeutil
from shared.config import Settings
from shared.events import SCHEMA_VERSION, SchemaError, ScoredText, SelectionLog, UtteranceEvent
from shared.ranking import Candidate, Context, RankerRegistry, Scored, UnknownAlgorithm
from shared.delivery import reply_event
from shared.replies import Reply, ReplyStore
from shared.reply_endpoint import decision_fields
from shared.stores import CandidateStore, Conversation, ConversationStore, DecisionStore, Replayed, StaleRead

log = logging.getLogger(__name__)

# Said only when nothing in the corpus fits, in the utterance's language; a
# question is never asked to "tell me more". Each has alternatives, taken in
# turn, so the bot never says one twice in a conversation while it has another.
FALLBACK_REPLIES = {
    ("ja", "statement"): (
        "なるほど。もう少し詳しく聞かせてください。",
        "そうなんですね。それで、どうなったんですか？",
        "へえ、面白いですね。ほかにも聞かせてください。",
    ),
    # "Why?" with no reason in the corpus for what the bot said.
    ("ja", "why"): (
        "うーん、なんとなく、ですかね。あなたはどうですか？",
        "改めて聞かれると難しいですね。直感です!",
        "理由は自分でもよく分からないんです。不思議ですよね。",
    ),
    ("en", "why"): (
        "Hmm, I can't really say. It just feels right to me. What about you?",
        "Good question! I guess I just do.",
        "Honestly, I'm not sure why. Some things just click, you know?",
    ),
    ("ja", "question"): (
        "うーん、すぐには答えが浮かびません。あなたはどうですか？",
        "難しい質問ですね。あなたならどう答えますか？",
        "考えたことがなかったです。あなたの考えも聞かせてください。",
    ),
    ("en", "statement"): (
        "I see. Tell me more?",
        "Oh, really? What happened next?",
        "Interesting! Go on, I'm listening.",
    ),
    ("en", "question"): (
        "Hmm, no answer comes to mind. What do you think?",
        "That's a hard one. How would you answer it?",
        "I've never thought about that. What's your take?",
    ),
}
FALLBACKS = frozenset(reply for replies in FALLBACK_REPLIES.values() for reply in replies)
# Turns kept in the conversation document: the context window, and the bot's
# earlier replies that must not be said again in the same conversation.
REPEAT_WINDOW_TURNS = 16
# Decisions one delivery may try before leaving it to Pub/Sub's retry: each
# lost commit (another line of the conversation landed first) decides again.
DECIDE_ATTEMPTS = 3
# A candidate this close to an earlier reply says it again (text.resemblance);
# one this much made of the utterance's words echoes it (text.overlap).
NEAR_REPEAT = 0.7
# Replies whose meaning vectors are this close (cosine, the published
# model's reply tower) say the same thing: 夏バテはしてないですね。食欲はあります。
# after 夏バテは今のところ大丈夫ですよ。食欲もあります。 (0.92); distinct
# answers such as アンドロイドです / アイフォンです stay under it (0.87).
SAME_MEANING = 0.9
# Fewer keyword candidates than this: also look for replies by meaning.
MIN_POOL = 20
# How many of the user's earlier lines a reply must not ask back.
ASKED_BACK_LINES = 3
# How many replies the look-up by meaning adds, and how close (cosine of the
# published model's towers) one must be to fit: real lines' nearest replies
# scored 0.42-0.52, gibberish ("qqqxyzzy wibblefrotz", "ほげほげふがふが") 0.37.
MEANING_NEIGHBOURS = 30
MEANING_MIN_SCORE = 0.4


def fallback_kind(utterance: str, lang: str) -> str:
    """Which of ``FALLBACK_REPLIES`` fits the line: a "why?", a question, or a statement."""
    return "why" if text.asks_why(utterance, lang) else "question" if text.is_question(utterance, lang) else "statement"


def fallback_reply(utterance: str, lang: str, bot_said: Sequence[str] = ()) -> str:
    """The first of the kind's fallbacks the bot has not said lately (the least
    recently said one when it has said them all)."""
    replies = FALLBACK_REPLIES[(lang, fallback_kind(utterance, lang))]
    last_said = {said: i for i, said in enumerate(bot_said)}
    return min(replies, key=lambda reply: last_said.get(reply, -1))


@dataclass(frozen=True)
class Exchange:
    """What a reply must fit: the utterance, the line it answers (the
    utterance, or for a reaction the line it follows), and what the bot and
    the user said before it, oldest first."""

    lang: str
    utterance: str
    answered: str
    bot: Sequence[str]
    user: Sequence[str]


def conversation_lang(event: UtteranceEvent, history: Sequence) -> str:
    """The utterance's language; for one with no letters at all (an emoji,
    "!!", "100"), which says nothing of its language, the language the user
    last wrote in, so a Japanese conversation is not answered in English."""
    if text.has_letters(event.text):
        return event.lang
    worded = [t.text for t in history if t.role == "user" and text.has_letters(t.text)]
    return text.detect_lang(worded[-1]) if worded else event.lang


def reaction_context(window: Sequence, utterance: str, lang: str) -> tuple[str, ...]:
    """For a line that only reacts (なるほど, "Really?": ``text.is_reaction``),
    the turns up to the user's last line that said something, which the reply
    then answers anew: a reaction gives nothing to answer, and the towers,
    reading the last turn, matched 「なるほど」 to anybody's line (「創作料理が
    だめかもしれないです」 after a talk about sports). Empty otherwise."""
    if not text.is_reaction(utterance, lang):
        return ()
    said = [i for i, turn in enumerate(window) if turn.role == "user" and not text.is_reaction(turn.text, lang)]
    return tuple(turn.text for turn in window[: said[-1] + 1]) if said else ()


def speaks(candidate_text: str, lang: str) -> bool:
    """Whether a reply is in ``lang``: Japanese has kana or kanji, English has none."""
    return text.lang_of(candidate_text) == lang


class Retriever(Protocol):
    """Replies by meaning across the whole corpus, and whether two replies
    mean the same (``shared.ranking.dual_encoder.MeaningRetriever``)."""

    def nearest(self, context: Context, k: int, min_score: float = -1.0) -> list[Candidate]: ...

    def same_meaning(self, texts: Sequence[str], said: Sequence[str], threshold: float) -> list[bool]: ...


class NoRetriever:
    def nearest(self, context: Context, k: int, min_score: float = -1.0) -> list[Candidate]:
        return []

    def same_meaning(self, texts: Sequence[str], said: Sequence[str], threshold: float) -> list[bool]:
        return [False] * len(texts)


class DecisionRace(RuntimeError):
    """A commit lost to a concurrent one whose decision is not readable yet: retried by Pub/Sub."""


@dataclass(frozen=True)
class Decision:
    reply: Reply
    log: SelectionLog
    # True when this decision created the conversation (its first line): only
    # then is the owner written where the reply store's rules look for it.
    opened_conversation: bool = False

    def to_dict(self) -> dict:
        return {"reply": self.reply.to_dict(), "log": self.log.to_dict(), "opened_conversation": self.opened_conversation}

    @classmethod
    def from_dict(cls, data: dict) -> "Decision":
        return cls(
            Reply.from_dict(data["reply"]),
            SelectionLog.from_dict(data["log"]),
            bool(data.get("opened_conversation", False)),
        )


class ScorerService:
    def __init__(
        self,
        settings: Settings,
        conversations: ConversationStore,
        candidates: CandidateStore,
        decisions: DecisionStore,
        replies: ReplyStore,
        publisher,
        rankers: RankerRegistry,
        faults: faults_module.FaultInjector = faults_module.NO_FAULTS,
        retriever: Retriever | None = None,
    ) -> None:
        self.settings = settings
        self.conversations = conversations
        self.candidates = candidates
        self.decisions = decisions
        self.replies = replies
        self.publisher = publisher
        self.rankers = rankers
        self.faults = faults
        self.retriever = retriever or NoRetriever()

    def handle(self, event: UtteranceEvent) -> Decision:
        conversation = self.conversations.read(event.conversation_id)
        stored = self.decisions.get(event.message_id) if conversation.may_have_answered(event.message_id) else None
        if stored is not None:
            # A redelivery: replay before any check or ranking could fail.
            log.info("decision already recorded, replaying it")
            decision, replied = Decision.from_dict(stored), False
        else:
            decision, replied = self._decide_once(event, conversation)
        log.info(
            "reply by %s from %d candidates in %.0f ms",
            event.algorithm,
            decision.log.candidate_count,
            decision.log.total_ms,
        )
        self.faults.point("scorer.after_commit", event.message_id, event.text)  # decided, log not published yet
        if not replied:  # the reply store is not Firestore, or this is a replay (written again: a no-op)
            # The owner goes with the conversation's first reply only (never rewritten).
            self.replies.write(
                event.conversation_id, decision.reply, owner=event.user_id if decision.opened_conversation else None
            )
        self.faults.point("scorer.after_write", event.message_id, event.text)  # reply written, log not yet published
        self.publisher.publish(
            self.settings.topics.selection_logs,
            decision.log.to_json(),
            attributes={"message_id": event.message_id, "algorithm": event.algorithm},
        )
        if event.reply_to is not None:  # asked for delivery (callback, LINE); nothing more for the rest
            self.publisher.publish(
                self.settings.topics.replies, reply_event(event, decision.reply).to_json(), attributes={"message_id": event.message_id}
            )
        return decision

    def _decide_once(self, event: UtteranceEvent, conversation: Conversation) -> tuple[Decision, bool]:
        """The decision, and whether its reply was written in the same commit."""
        for _ in range(DECIDE_ATTEMPTS):
            decision = self.decide(event, conversation)

            def writes_with_it(batch) -> bool:
                """The conversation's turns and (in Firestore) the reply: committed with the decision or not at all."""
                self.conversations.add_exchange(
                    batch,
                    event.conversation_id,
                    conversation,
                    event.user_id,
                    event.message_id,
                    event.text,
                    decision.reply.text,
                    decision.reply.created_at,
                )
                replied = self.replies.add_to(batch, event.conversation_id, decision.reply)
                self.faults.point("scorer.before_write", event.message_id, event.text)
                return replied

            try:
                outcome = self.decisions.create_or_replay(
                    event.message_id, {**decision.to_dict(), **decision_fields(event)}, writes_with_it
                )
            except StaleRead:
                # The conversation changed since it was read (another line, or
                # another first line opened it), and nothing was decided.
                log.info("conversation %s changed while deciding, deciding again", event.conversation_id)
                conversation = self.conversations.read(event.conversation_id)
                continue
            if isinstance(outcome, Replayed):
                # An earlier or concurrent delivery decided first: its decision stands.
                log.info("decision already recorded, replaying it")
                return Decision.from_dict(outcome.stored), False
            return decision, outcome.written
        raise DecisionRace(f"conversation {event.conversation_id} kept changing while deciding {event.message_id}")

    @staticmethod
    def _usable(candidates: Sequence[Candidate], said: Exchange) -> list[Candidate]:
        """Candidates in the exchange's language that are not mostly the
        utterance's own words (an echo) nor ask back what the line being
        answered or one of the user's recent lines said, do not say, even
        nearly, one of the bot's earlier replies, do not say goodbye unless the
        user does, and do not greet once the conversation is under way unless
        the user does."""
        lang, utterance = said.lang, said.utterance
        said_before = text.NearRepeats(said.bot, NEAR_REPEAT)
        user_leaves = text.takes_leave(utterance, lang)
        may_greet = not said.bot or text.greets(utterance, lang)
        # The user's earlier lines too: after 「ゲーム好きです」, two turns
        # later 「ゲームがお好きなんですか?」.
        asked_back = text.AskedBack((said.answered, *said.user[-ASKED_BACK_LINES:]), lang)
        return [
            c for c in candidates
            if speaks(c.text, lang)
            and text.overlap(c.text, utterance) < NEAR_REPEAT
            and c.text not in asked_back
            and c.text not in said_before
            and (user_leaves or not text.takes_leave(c.text, lang))
            and (may_greet or not text.greets(c.text, lang))
        ]

    def _pool(self, keywords: list[str], context: Context, said: Exchange) -> list[Candidate]:
        """The usable candidates of the keywords, topped up by meaning when few."""
        pool = self._usable(self.candidates.load(keywords), said)
        if len(pool) < MIN_POOL:
            known = {c.text for c in pool}
            found = self.retriever.nearest(context, MEANING_NEIGHBOURS, MEANING_MIN_SCORE)
            pool += [c for c in self._usable(found, said) if c.text not in known]
        if said.bot and pool:
            repeats = self.retriever.same_meaning([c.text for c in pool], said.bot, SAME_MEANING)
            pool = [c for c, repeat in zip(pool, repeats) if not repeat]
        if said.bot and text.asks_why(said.utterance, said.lang):
            # A reason for what the bot said, or the fallback: any other line
            # answered the question before it again, the other way (好きな季節
            # は秋ですねー, なんで? -> 「好きな季節は冬ですね…」).
            asked = said.user[-1] if said.user else ""
            pool = [c for c in pool if text.gives_reason_for(c.text, said.bot[-1], asked, said.lang)]
        return self._preferred(pool, said)

    @staticmethod
    def _preferred(pool: list[Candidate], said: Exchange) -> list[Candidate]:
        """The pool narrowed by each preference that applies, in turn, unless
        it would leave nothing (a weaker reply beats the generic one)."""
        lang, answered = said.lang, said.answered
        stances = text.Stances(said.bot, lang)
        greeting = text.greeting_of(said.utterance, lang)
        preferences = (
            # The bot keeps its word on what it said it likes or not.
            (bool(said.bot), lambda c: c.text not in stances),
            # A greeting is greeted back in its own words (こんにちは、今日は
            # 暑いですね got 「この夏にやりたいことありますか?」).
            (greeting is not None, lambda c: text.greeting_of(c.text, lang) == greeting),
            # No "Nice!" to bad news (「風邪をひいちゃいました」 -> 「いいですね!」).
            (text.laments(answered, lang), lambda c: not text.cheers(c.text, lang)),
            # Thanks only for praise or thanks (毎日寝不足です -> 「ありがとうございます。…」).
            (not text.praises(answered, lang), lambda c: not text.thanks(c.text, lang)),
            # A question gets an answer, not a question in turn (泳げますか? -> 近くの海はきれいですか)
            # or a remark on the asker (筋トレってしてますか? -> 「結構筋トレが多いんですね。」)...
            (text.is_question(answered, lang), lambda c: not text.answers_nothing(c.text, lang)),
            # ...nor one that takes it in as news (ワールドカップ見てます? -> 「そうなんですね!…」).
            (text.is_question(answered, lang), lambda c: not text.takes_news(c.text, lang)),
            # ...nor yes or no to what, where or who (何のゲームやってる? -> 「そうです。スイッチのゲームです。」).
            (text.asks_wh(answered, lang), lambda c: not text.confirms(c.text, lang)),
            # Yes or no answers a question (or 暑いですね), not news: 毎日寝不足です
            # -> 「そうなんです。毎日寝不足です。」.
            (not text.is_question(answered, lang) and not text.asks_agreement(answered, lang),
             lambda c: not text.confirms(c.text, lang)),
            # What the user does not do is not asked about as done (料理は全然
            # できなくて -> 「どういったお料理が得意ですか?」).
            (text.denies(answered, lang), lambda c: not text.presumes(c.text, lang)),
            # An amount told is not asked for (まだ3キロしか走れない -> 「どのくらい走るのですか?」).
            (text.tells_amount(answered, lang), lambda c: not text.asks_amount(c.text, lang)),
            # A plan is not asked about as done (来週ライブに行きます -> 「最近どんな
            # ライブ行きましたか?」, 北海道に行くんです -> 「どちらへ行かれたんですか?」).
            (text.plans(answered, lang), lambda c: not text.takes_as_done(c.text, lang)),
            # ...nor what is done asked about as a plan (今日髪切ったんだ -> 「バッサリ切る予定ですか?」).
            (text.tells_done(answered, lang) and not text.plans(answered, lang), lambda c: not text.asks_plan(c.text, lang)),
        )
        for applies, keep in preferences:
            if applies:
                pool = [c for c in pool if keep(c)] or pool
        return pool

    def _keywords(self, utterance: str, lang: str, window_user: list[str], said_by_user: list[str], bot_said: list[str]) -> list[str]:
        """The topic is what the user talks about: the bot's own words must not
        steer which candidates are looked up (they still shape the ranking),
        unless the user asks why the bot said them, or asked and names no
        topic but the bot's answer (最近ハマってることある? -> 「料理本を…」, それ面白い?)."""
        user_turns = [*window_user, utterance]
        about_bot = text.asks_why(utterance, lang) or (
            text.answered_with_topic(said_by_user, bot_said, lang) and not any(text.names_topic(t, lang) for t in user_turns)
        )
        asked_about = bot_said[-1:] if about_bot else []
        return text.topic_keywords(window_user + asked_about + [utterance], lang, self.settings.max_keywords)

    def decide(self, event: UtteranceEvent, conversation: Conversation) -> Decision:
        """Pure of side effects except candidate reads: keywords, candidates, ranking."""
        started = timeutil.now()
        try:
            ranker = self.rankers.get(event.algorithm)
        except UnknownAlgorithm:
            raise SchemaError(f"unknown algorithm {event.algorithm!r}") from None
        self.faults.point("scorer.owner_check", event.message_id, event.text)
        owner = conversation.owner
        if owner is not None and owner != event.user_id:
            # Never retried and never written: the turns, the reply key and its
            # owner stay the first speaker's.
            raise SchemaError(f"conversation {event.conversation_id} belongs to another user than {event.user_id!r}")
        history = conversation.before(event.message_id)
        window = history[len(history) - self.settings.context_turns :] if self.settings.context_turns > 0 else []
        lang = conversation_lang(event, history)
        turns = (*(t.text for t in window), event.text)
        bot_said = [t.text for t in history if t.role == "bot"]
        said_by_user = [t.text for t in history if t.role == "user"]
        keywords = self._keywords(event.text, lang, [t.text for t in window if t.role == "user"], said_by_user, bot_said)
        context = Context(reaction_context(window, event.text, lang) or turns, lang)
        # A question about the bot itself gets the bot's own answer (the
        # corpus's are strangers'), and a line with nothing to rank on (thanks,
        # "tell me something", うん before any topic) the bot's own move: the
        # same in every conversation and whichever algorithm was routed, so the
        # algorithms' comparison is not skewed.
        own_answer = persona.answer(event.text, lang, bot_said, said_by_user) or moves.answer(event.text, lang, said_by_user, bot_said)
        if own_answer:
            pool = [Candidate(own_answer, source="own")]
        else:
            said = Exchange(lang, event.text, context.turns[-1], bot_said, said_by_user)
            pool = self._pool(keywords, context, said)
        self.faults.point("scorer.rank", event.message_id, event.text)
        rank_started = time.perf_counter()
        scored = [Scored(pool[0], 1.0)] if own_answer else ranker.rank(context, pool) if pool else []
        rank_ms = round((time.perf_counter() - rank_started) * 1000.0, 3)

        fallback = not scored
        reply_text = fallback_reply(event.text, lang, bot_said) if fallback else scored[0].candidate.text
        reply_score = 0.0 if fallback else scored[0].score
        decided = timeutil.now()
        received = timeutil.parse(event.received_at)
        reply = Reply(
            text=reply_text,
            algorithm=event.algorithm,
            score=reply_score,
            keywords=keywords,
            message_id=event.message_id,
            created_at=timeutil.iso(decided),
        )
        selection = SelectionLog(
            message_id=event.message_id,
            conversation_id=event.conversation_id,
            user_id=event.user_id,
            lang=lang,
            algorithm=event.algorithm,
            propensity=event.propensity,
            keywords=keywords,
            candidates=[ScoredText(s.candidate.text, s.score) for s in scored[: SelectionLog.TOP_N]],
            candidate_count=len(pool),
            reply_text=reply_text,
            reply_score=reply_score,
            fallback=fallback,
            received_at=event.received_at,
            replied_at=reply.created_at,
            queue_ms=timeutil.ms_between(received, started),
            rank_ms=rank_ms,
            total_ms=timeutil.ms_between(received, decided),
            schema_version=SCHEMA_VERSION,
        )
        return Decision(reply, selection, opened_conversation=owner is None)
