"""Scorer: from an utterance event to a reply and a selection log.

``decide`` is exercised with small in-memory fakes for the conversation and
candidate stores; ``handle`` with fakes for the decision ledger, the batch,
the reply store and the publisher (no Firestore involved).
"""

from __future__ import annotations

import pytest
from google.api_core import exceptions as api_exceptions

from shared import moves, persona, text
from shared.config import Settings
from shared.events import SchemaError, SelectionLog, UtteranceEvent
from shared.ranking import Candidate, RankerRegistry, Scored
from shared.scorer import FALLBACK_REPLIES, Decision, ScorerService, fallback_kind, fallback_reply
from shared.stores import Conversation, DecisionStore, Turn

from .fakes import FakePublisher, load_golden

CAT_REPLY = "猫はかわいいですよね。うちの猫も寝てばかりです"


class FakeConversations:
    def __init__(self, history: list[str | Turn] | None = None, owner: str | None = None) -> None:
        # A plain string is a user's turn.
        self.history = [t if isinstance(t, Turn) else Turn("user", t) for t in history or []]
        self.owner_id = owner
        self.reads = 0

    def read(self, conversation_id: str) -> Conversation:
        self.reads += 1
        return Conversation(self.owner_id, tuple(self.history))

    def add_exchange(self, batch, conversation_id: str, read: Conversation, *args) -> None:
        batch.ops.append(("exchange", args, read.owner is None))


class FakeCandidates:
    """Candidates per keyword, merged without repeats like ``CandidateStore.load``."""

    def __init__(self, by_keyword: dict[str, list[Candidate]] | None = None) -> None:
        self.by_keyword = by_keyword or {}
        self.asked: list[list[str]] = []

    def load(self, keywords) -> list[Candidate]:
        self.asked.append(list(keywords))
        merged: dict[str, Candidate] = {}
        for keyword in keywords:
            for candidate in self.by_keyword.get(keyword, []):
                merged.setdefault(candidate.text, candidate)
        return list(merged.values())


class FakeBatch:
    def __init__(self, error: Exception | None = None) -> None:
        self.ops: list[tuple] = []
        self.error = error
        self.committed = False

    def commit(self) -> None:
        if self.error is not None:
            raise self.error
        self.committed = True


class FakeDb:
    def __init__(self, commit_error: Exception | None = None) -> None:
        self.batches: list[FakeBatch] = []
        self.commit_error = commit_error

    def batch(self) -> FakeBatch:
        self.batches.append(FakeBatch(self.commit_error))
        return self.batches[-1]


class FakeDecisions(DecisionStore):
    """The store's own create-or-replay rule over a fake batch; reads and the create are recorded."""

    def __init__(self, stored: dict | None = None, after_conflict: dict | None = None) -> None:
        super().__init__(FakeDb())
        self.stored = stored
        self.after_conflict = after_conflict  # what a concurrent delivery stored while we decided
        self.gets = 0
        self.created = False

    def get(self, message_id: str) -> dict | None:
        self.gets += 1
        return self.after_conflict if self.created and self.after_conflict is not None else self.stored

    def add_create(self, batch, message_id: str, decision: dict) -> None:
        self.created = True
        batch.ops.append(("create", message_id, decision))

    def on(self, db: FakeDb) -> "FakeDecisions":
        """Commits into ``db``'s batches."""
        self._db = db
        return self

    @property
    def db(self) -> FakeDb:
        return self._db


class FakeReplies:
    def __init__(self) -> None:
        self.written: list[tuple] = []

    def write(self, conversation_id: str, reply, owner: str | None = None) -> None:
        self.written.append((conversation_id, reply))
        self.owner = owner

    def add_to(self, batch, conversation_id: str, reply) -> bool:
        return False  # like the Realtime Database: written after the commit


class CommittedReplies(FakeReplies):
    """Like Firestore's: the reply goes into the decision's batch."""

    def add_to(self, batch, conversation_id: str, reply) -> bool:
        batch.ops.append(("reply", conversation_id, reply))
        return True


def _event(**changes) -> UtteranceEvent:
    return UtteranceEvent.from_dict({**load_golden("utterance-event.json"), **changes})


class Scorer(ScorerService):
    """``decide`` on what the conversation store holds, as ``handle`` reads it."""

    def decide(self, event, conversation=None):
        return super().decide(event, conversation or self.conversations.read(event.conversation_id))


def _service(
    candidates=None,
    history=None,
    settings=Settings(),
    rankers=None,
    db=None,
    decisions=None,
    replies=None,
    publisher=None,
) -> ScorerService:
    if decisions is not None and db is not None:
        decisions.on(db)
    return Scorer(
        settings,
        FakeConversations(history) if not isinstance(history, FakeConversations) else history,
        candidates if isinstance(candidates, FakeCandidates) else FakeCandidates(candidates),
        decisions,
        replies,
        publisher,
        rankers or RankerRegistry(),
    )


JA_POOL = {
    "猫": [Candidate("こんにちは", context="猫"), Candidate(CAT_REPLY, context="猫が好き"), Candidate("電車が遅れました")],
}


# -- decide ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang, text_", [("ja", "猫が好きです"), ("en", "I love cats")])
@pytest.mark.parametrize("algorithm", ["tfidf", "bm25"])
def test_no_candidates_gives_the_fallback_reply_of_the_language(lang, text_, algorithm):
    decision = _service(candidates={}).decide(_event(text=text_, lang=lang, algorithm=algorithm))
    assert decision.reply.text == FALLBACK_REPLIES[(lang, "statement")][0]
    assert decision.reply.score == 0.0
    log = decision.log
    assert (log.fallback, log.reply_text, log.reply_score) == (True, FALLBACK_REPLIES[(lang, "statement")][0], 0.0)
    assert (log.candidates, log.candidate_count) == ([], 0)


def test_there_is_a_fallback_reply_for_every_language():
    from shared.events import LANGUAGES

    assert set(FALLBACK_REPLIES) == {(lang, kind) for lang in LANGUAGES for kind in ("statement", "question", "why")}
    assert all(reply.strip() for replies in FALLBACK_REPLIES.values() for reply in replies)
    assert all(text.detect_lang(reply) == lang for (lang, _), replies in FALLBACK_REPLIES.items() for reply in replies)


@pytest.mark.parametrize("lang, question", [("ja", "何を食べましたか？"), ("ja", "趣味はありますか"), ("en", "What did you eat?")])
def test_a_question_never_gets_tell_me_more(lang, question):
    decision = _service(candidates={}).decide(_event(text=question, lang=lang))
    assert decision.log.fallback and decision.reply.text == FALLBACK_REPLIES[(lang, "question")][0]
    assert "詳しく" not in decision.reply.text and "tell me more" not in decision.reply.text.lower()


@pytest.mark.parametrize("lang, line", [("ja", "ｗｗｗ"), ("en", "hmm"), ("ja", "何？"), ("en", "why?")])
def test_a_fallback_is_never_said_twice_while_another_is_left(lang, line):
    said: list[str] = []
    for _ in FALLBACK_REPLIES[(lang, fallback_kind(line, lang))]:
        said.append(fallback_reply(line, lang, said))
    assert len(set(said)) == len(said)
    assert fallback_reply(line, lang, said) == said[0]  # then the least recently said


@pytest.mark.parametrize("line", ["😀", "!!", "１００"])
def test_a_line_without_letters_is_answered_in_the_language_the_user_last_wrote_in(line):
    history = ["猫が好きです", Turn("bot", "猫いいですね")]
    decision = _service(candidates={}, history=history).decide(_event(text=line, lang="en"))
    assert text.detect_lang(decision.reply.text) == "ja" and decision.log.lang == "ja"
    alone = _service(candidates={}).decide(_event(text=line, lang="en"))
    assert text.detect_lang(alone.reply.text) == "en"


def test_a_reply_in_another_language_is_never_chosen():
    pool = {"machine": [Candidate("james watt.", context="機械学習"), Candidate("機械学習は面白いですね", context="機械")]}
    decision = _service(candidates=pool).decide(_event(text="機械学習について教えて", lang="ja"))
    assert decision.reply.text == "機械学習は面白いですね" or decision.log.fallback
    assert all(text.detect_lang(c.text) == "ja" for c in decision.log.candidates)


def test_the_bot_never_repeats_its_earlier_reply_nor_echoes_the_utterance():
    pool = {"猫": [Candidate(CAT_REPLY, context="猫が好き"), Candidate("猫が好きです", context="猫"), Candidate("猫を飼いたいです", context="猫")]}
    history = ["猫の話をしましょう", Turn("bot", CAT_REPLY)]
    decision = _service(candidates=pool, history=history).decide(_event(text="猫が好きです", lang="ja"))
    assert decision.reply.text == "猫を飼いたいです"


def test_nor_says_nearly_the_same_as_before():
    pool = {"弁当": [Candidate("お弁当を食べました", context="何を食べた"), Candidate("お弁当は手作りですか?", context="弁当")]}
    history = ["お昼は食べましたか", Turn("bot", "今日はお弁当を食べました。")]
    decision = _service(candidates=pool, history=history).decide(_event(text="お弁当は何を食べたんですか", lang="ja"))
    assert decision.reply.text == "お弁当は手作りですか?"


def test_the_bot_says_goodbye_only_after_the_user_does():
    pool = {"猫": [Candidate("猫の話ができて楽しかったです。それではまた!", context="猫"), Candidate("猫は何匹飼っていますか?", context="猫")]}
    mid = _service(candidates=pool).decide(_event(text="猫が好きです", lang="ja", algorithm="tfidf"))
    assert mid.reply.text == "猫は何匹飼っていますか?"
    leaving = {"猫": [Candidate("はい、それではまた!", context="猫")]}
    end = _service(candidates=leaving).decide(_event(text="猫の話をありがとうございました。それではまた!", lang="ja"))
    assert end.reply.text == "はい、それではまた!"


def test_the_bot_greets_only_as_it_opens_a_conversation_or_when_greeted():
    pool = {"明日": [Candidate("こんばんは。明日は仕事ありです。", context="明日"), Candidate("明日は何をするんですか?", context="明日")]}
    opening = _service(candidates=pool).decide(_event(text="明日も頑張ろうと思います", lang="ja", algorithm="tfidf"))
    later = _service(candidates=pool, history=["仕事で褒められました", Turn("bot", "すごいですね!")]).decide(
        _event(text="明日も頑張ろうと思います", lang="ja", algorithm="tfidf")
    )
    assert later.reply.text == "明日は何をするんですか?"
    assert "こんばんは。明日は仕事ありです。" in [c.text for c in opening.log.candidates]
    greeted = _service(candidates=pool, history=["仕事で褒められました", Turn("bot", "すごいですね!")]).decide(
        _event(text="こんばんは!明日も頑張ります", lang="ja", algorithm="tfidf")
    )
    assert "こんばんは。明日は仕事ありです。" in [c.text for c in greeted.log.candidates]


def test_a_question_about_the_bot_gets_the_bots_own_answer_whatever_the_algorithm():
    pool = {"誰": [Candidate("誰でしょう。呂布カルマとかインマンすきですね", context="誰")]}
    for algorithm in ("tfidf", "bm25"):
        decision = _service(candidates=pool).decide(_event(text="あなたは誰ですか?", lang="ja", algorithm=algorithm))
        assert decision.reply.text == persona.QUESTIONS[0].replies["ja"][0]
        assert not decision.log.fallback and decision.log.candidates[0].text == decision.reply.text


def test_thanks_get_the_bots_own_welcome_whatever_the_algorithm():
    pool = {"ありがとう": [Candidate("卵にですか", context="卵をありがとう")]}
    for algorithm in ("dual_encoder", "tfidf", "bm25"):
        decision = _service(candidates=pool, history=["試験に落ちちゃって", Turn("bot", "次はきっと大丈夫ですよ!")]).decide(
            _event(text="ありがとう", lang="ja", algorithm=algorithm)
        )
        assert decision.reply.text == moves.MOVES[0].replies["ja"][0]


def test_a_first_line_that_says_nothing_gets_a_question_that_opens_a_topic():
    pool = {"はい": [Candidate("欲張りですね", context="はい")]}
    decision = _service(candidates=pool).decide(_event(text="はい", lang="ja", algorithm="tfidf"))
    assert decision.reply.text == moves.OPENERS["ja"][0]


def test_asked_about_itself_again_the_bot_does_not_repeat_its_answer():
    first = persona.answer("お名前は?", "ja")
    decision = _service(candidates={}, history=["お名前は?", Turn("bot", first)]).decide(_event(text="名前は何ですか?", lang="ja"))
    assert decision.reply.text not in (first, "") and decision.reply.text in persona.QUESTIONS[1].replies["ja"]


def test_a_question_is_not_answered_with_the_same_question():
    pool = {"スポーツ": [Candidate("なんのスポーツが好きですか。", context="スポーツ"), Candidate("テニスが好きです", context="スポーツ")]}
    decision = _service(candidates=pool).decide(_event(text="じゃあ、好きなスポーツは?", lang="ja", algorithm="tfidf"))
    assert decision.reply.text == "テニスが好きです"


def test_a_reaction_is_answered_on_the_users_topic_not_on_its_own_words():
    candidates = FakeCandidates({})
    _service(candidates=candidates, history=["ラーメンにハマってます", Turn("bot", "何ラーメンですか?")]).decide(
        _event(text="いいですね!", lang="ja")
    )
    assert candidates.asked == [["ラーメン"]]


def test_a_reaction_is_ranked_as_a_reply_to_the_users_last_line_that_said_something():
    class Recording:
        name = "recording"

        def __init__(self):
            self.contexts = []

        def rank(self, context, candidates):
            self.contexts.append(context.turns)
            return [Scored(c, 1.0) for c in candidates]

    ranker = Recording()
    history = ["スポーツは見るのが好きです", Turn("bot", "するのが好きです!")]
    pool = {"スポーツ": [Candidate("テニスをよくやります", context="スポーツ")]}
    service = _service(candidates=pool, history=history, rankers=RankerRegistry({"recording": lambda: ranker}))
    service.decide(_event(text="なるほど", lang="ja", algorithm="recording"))
    service.decide(_event(text="野球はどうですか?", lang="ja", algorithm="recording"))
    assert ranker.contexts == [
        ("スポーツは見るのが好きです",), ("スポーツは見るのが好きです", "するのが好きです!", "野球はどうですか?")
    ]


def test_a_reaction_is_not_answered_by_asking_back_the_line_it_follows():
    history = ["私はスポーツが好きです", Turn("bot", "いいですね!")]
    pool = {"スポーツ": [Candidate("スポーツが好きですか?", context="スポーツ"), Candidate("テニスをよくやります", context="スポーツ")]}
    decision = _service(candidates=pool, history=history).decide(_event(text="なるほど", lang="ja", algorithm="tfidf"))
    assert decision.reply.text == "テニスをよくやります"


def test_a_reaction_to_the_bots_answer_turns_the_users_question_around():
    history = ["じゃあ、好きなスポーツは?", Turn("bot", "するのが好きです!")]
    pool = {"スポーツ": [Candidate("テニスをよくやります", context="スポーツ")]}
    decision = _service(candidates=pool, history=history).decide(_event(text="なるほど", lang="ja", algorithm="tfidf"))
    assert decision.reply.text == "あなたはどうですか?"


def test_the_bots_own_words_do_not_choose_the_keywords():
    candidates = FakeCandidates({})
    history = ["映画が好きです", Turn("bot", "ラーメンの話をしましょう")]
    _service(candidates=candidates, history=history).decide(_event(text="いいですね", lang="ja"))
    assert "ラーメン" not in candidates.asked[0] and "映画" in candidates.asked[0]


def test_few_keyword_candidates_are_topped_up_by_meaning():
    class Nearest:
        def nearest(self, context, k, min_score=-1.0):
            return [Candidate("担々麺はピリ辛でおいしいですよね", context="担々麺が好き"), Candidate("I like noodles")]

    service = _service(candidates={})
    service.retriever = Nearest()
    decision = service.decide(_event(text="担々麺が好きです", lang="ja"))
    assert decision.reply.text == "担々麺はピリ辛でおいしいですよね" and not decision.log.fallback


def test_a_text_without_keywords_falls_back():
    candidates = FakeCandidates(JA_POOL)
    decision = _service(candidates=candidates).decide(_event(text="!!!", lang="en"))
    assert decision.log.fallback is True
    assert decision.log.keywords == []


@pytest.mark.parametrize("algorithm", ["tfidf", "bm25"])
def test_the_best_candidate_is_the_reply(algorithm):
    decision = _service(candidates=JA_POOL).decide(_event(algorithm=algorithm))
    log = decision.log
    assert decision.reply.text == CAT_REPLY
    assert log.fallback is False
    assert log.reply_text == CAT_REPLY
    assert log.candidates[0].text == CAT_REPLY
    assert decision.reply.score == log.reply_score == log.candidates[0].score > 0
    assert log.candidate_count == 3
    assert [c.text for c in log.candidates].index("こんにちは") > 0


def test_the_reply_and_log_echo_the_event():
    event = _event(algorithm="tfidf", propensity=0.25)
    decision = _service(candidates=JA_POOL).decide(event)
    reply, log = decision.reply, decision.log
    assert (reply.algorithm, reply.message_id) == ("tfidf", event.message_id)
    for name in ("message_id", "conversation_id", "user_id", "lang", "algorithm", "propensity", "received_at"):
        assert getattr(log, name) == getattr(event, name)
    assert log.replied_at == reply.created_at


def test_the_log_carries_at_most_top_n_candidates_but_counts_all():
    pool = {"猫": [Candidate(f"猫の話その{i}です", context="猫") for i in range(SelectionLog.TOP_N + 15)]}
    log = _service(candidates=pool).decide(_event()).log
    assert len(log.candidates) == SelectionLog.TOP_N
    assert log.candidate_count == SelectionLog.TOP_N + 15
    scores = [c.score for c in log.candidates]
    assert scores == sorted(scores, reverse=True)


def test_an_unknown_algorithm_is_a_schema_error_before_any_candidate_read():
    candidates = FakeCandidates(JA_POOL)
    with pytest.raises(SchemaError, match="word2vec"):
        _service(candidates=candidates).decide(_event(algorithm="word2vec"))
    assert candidates.asked == []


@pytest.mark.parametrize("owner", [None, "the speaker"])
def test_a_new_conversation_or_the_owners_own_is_answered(owner):
    event = _event(user_id="the speaker")
    decision = _service(JA_POOL, history=FakeConversations(owner=owner)).decide(event)
    assert decision.reply.text


def test_an_utterance_into_another_users_conversation_is_a_schema_error_before_ranking():
    candidates = FakeCandidates(JA_POOL)
    with pytest.raises(SchemaError, match="belongs to another user"):
        _service(candidates, history=FakeConversations(owner="the owner")).decide(_event(user_id="someone else"))
    assert candidates.asked == []


def test_the_reply_carries_the_topic_keywords():
    decision = _service(candidates=JA_POOL).decide(_event())
    assert decision.reply.keywords == ["猫"]
    assert decision.log.keywords == ["猫"]


def test_earlier_turns_feed_the_keywords_with_the_latest_first():
    conversations = FakeConversations(["猫が好きです"])
    candidates = FakeCandidates({"犬": [Candidate("犬はかわいい")], "猫": [Candidate("猫はかわいい")]})
    event = _event(text="犬も飼っています")
    decision = _service(candidates=candidates, history=conversations).decide(event)
    assert candidates.asked == [["犬", "猫"]]
    assert decision.reply.keywords == ["犬", "猫"]
    assert decision.reply.text == "犬はかわいい"


def test_the_bots_replies_past_the_context_window_are_not_said_again():
    said = "猫はかわいいですよね"
    history = [Turn("bot", said), *(["犬が好きです"] * 8)]
    decision = _service(candidates={"猫": [Candidate(said), Candidate("うちにも猫がいます")]}, history=history).decide(
        _event(text="猫も好きです")
    )
    assert decision.reply.text == "うちにも猫がいます"


def test_only_the_turns_before_the_message_are_its_context():
    """A late message (an id older than kept turns) is not answered with what came after it."""
    conversations = FakeConversations([Turn("user", "猫が好きです", "01A"), Turn("user", "犬が好きです", "01C")])
    assert conversations.read("c").before("01B") == [Turn("user", "猫が好きです", "01A")]
    assert conversations.read("c").may_have_answered("01B") and not conversations.read("c").may_have_answered("01D")


def test_context_turns_and_max_keywords_come_from_settings():
    conversations = FakeConversations(["cats", "dogs", "fish", "birds"])
    candidates = FakeCandidates()
    settings = Settings(context_turns=2, max_keywords=2)
    _service(candidates=candidates, history=conversations, settings=settings).decide(
        _event(text="pizza pasta", lang="en")
    )
    assert candidates.asked == [text.topic_keywords(["fish", "birds", "pizza pasta"], "en", 2)]
    assert len(candidates.asked[0]) == 2


@pytest.mark.parametrize("fallback", [True, False])
def test_the_decision_round_trips_through_its_stored_form(fallback):
    decision = _service(candidates={} if fallback else JA_POOL).decide(_event())
    assert Decision.from_dict(decision.to_dict()) == decision
    assert SelectionLog.from_json(decision.log.to_json()) == decision.log


@pytest.mark.parametrize("received_at", ["yesterday", "2024-05-01T12:00:00"], ids=["garbage", "no-timezone"])
def test_a_malformed_received_at_is_a_schema_error(received_at):
    with pytest.raises(SchemaError):
        event = _event(received_at=received_at)
        _service(candidates=JA_POOL).decide(event)


@pytest.mark.parametrize("changes", [{"message_id": ""}, {"conversation_id": "a/b"}], ids=["empty-message-id", "slash"])
def test_an_event_with_unusable_ids_is_a_schema_error(changes):
    with pytest.raises(SchemaError):
        _event(**changes)


# -- handle ---------------------------------------------------------------------------


def _handle_service(decisions, db=None, rankers=None, candidates=JA_POOL):
    return _service(
        candidates=candidates,
        db=db or FakeDb(),
        decisions=decisions,
        replies=FakeReplies(),
        publisher=FakePublisher(),
        rankers=rankers,
    )


def test_a_new_event_records_the_decision_and_turns_atomically_then_replies_and_logs():
    db, decisions = FakeDb(), FakeDecisions(stored=None)
    service = _handle_service(decisions, db=db)
    event = _event()
    decision = service.handle(event)

    (batch,) = db.batches
    assert batch.committed
    kinds = [op[0] for op in batch.ops]
    assert sorted(kinds) == ["create", "exchange"]
    assert decisions.gets == 0  # a new message costs one read: the conversation
    create = next(op for op in batch.ops if op[0] == "create")
    assert create[1] == event.message_id and create[2] == decision.to_dict()
    assert service.replies.written == [(event.conversation_id, decision.reply)]
    assert service.replies.owner == event.user_id  # the security rules key reads by it
    (published,) = service.publisher.calls
    assert published.topic == "selection-logs"
    assert SelectionLog.from_json(published.data) == decision.log
    assert published.attributes == {"message_id": event.message_id, "algorithm": event.algorithm}


def test_a_reply_in_the_decisions_database_is_committed_with_it_and_not_written_again():
    db = FakeDb()
    service = _handle_service(FakeDecisions(), db=db)
    service.replies = CommittedReplies()
    decision = service.handle(_event())
    assert [op for op in db.batches[0].ops if op[0] == "reply"] == [("reply", _event().conversation_id, decision.reply)]
    assert service.replies.written == []
    assert SelectionLog.from_json(service.publisher.calls[0].data) == decision.log


def test_a_redelivered_event_replays_the_stored_decision_even_if_ranking_now_differs():
    first = _service(candidates=JA_POOL).decide(_event())
    stored = {**first.to_dict(), "expire_at": "2024-05-08T12:00:00Z"}  # as DecisionStore keeps it
    db = FakeDb(commit_error=api_exceptions.AlreadyExists("decided"))
    service = _handle_service(FakeDecisions(after_conflict=stored), db=db)  # no candidates now
    replayed = service.handle(_event())
    assert replayed == first
    assert not db.batches[0].committed
    assert service.replies.written == [(first.log.conversation_id, first.reply)]
    assert SelectionLog.from_json(service.publisher.calls[0].data) == first.log


@pytest.mark.parametrize("conflict", [api_exceptions.AlreadyExists("exists"), api_exceptions.Conflict("conflict")])
def test_a_concurrent_first_decision_wins_over_ours(conflict):
    winner = _service(candidates={}).decide(_event())  # the fallback, decided "elsewhere"
    decisions = FakeDecisions(stored=None, after_conflict=winner.to_dict())
    service = _handle_service(decisions, db=FakeDb(commit_error=conflict))
    decision = service.handle(_event())
    assert decision == winner
    assert service.replies.written[0][1].text == fallback_reply(_event().text, "ja")
    assert SelectionLog.from_json(service.publisher.calls[0].data) == winner.log


def test_a_transient_commit_failure_propagates_and_nothing_is_replied():
    service = _handle_service(FakeDecisions(), db=FakeDb(commit_error=api_exceptions.ServiceUnavailable("down")))
    with pytest.raises(api_exceptions.ServiceUnavailable):
        service.handle(_event())
    assert service.replies.written == [] and service.publisher.calls == []


class BrokenRankers(RankerRegistry):
    """A fresh instance that cannot rank (say, the model failed to load)."""

    def get(self, name):
        raise RuntimeError("model not loaded")


@pytest.mark.parametrize("broken", ["ranker", "owner check"])
def test_a_redelivery_replays_the_committed_decision_before_any_check_or_ranking(broken):
    event = _event()
    first = _service(candidates=JA_POOL).decide(event)
    stored = {**first.to_dict(), "expire_at": "2024-05-08T12:00:00Z"}
    db = FakeDb()
    answered = [Turn("user", event.text, event.message_id), Turn("bot", first.reply.text, event.message_id)]
    # "owner check": the conversation now reads as someone else's, which a check would refuse.
    owner = "someone else" if broken == "owner check" else event.user_id
    service = ScorerService(
        Settings(), FakeConversations(answered, owner=owner),
        FakeCandidates(JA_POOL), FakeDecisions(stored=stored).on(db), FakeReplies(), FakePublisher(),
        BrokenRankers() if broken == "ranker" else RankerRegistry(),
    )
    assert service.handle(_event()) == first
    assert db.batches == []  # nothing decided, nothing committed again
    assert service.replies.written == [(first.log.conversation_id, first.reply)]
    assert SelectionLog.from_json(service.publisher.calls[0].data) == first.log


def test_an_aborted_commit_is_retried_not_replayed():
    service = _handle_service(FakeDecisions(stored=None), db=FakeDb(commit_error=api_exceptions.Aborted("contention")))
    with pytest.raises(api_exceptions.Aborted):
        service.handle(_event())
    assert service.replies.written == [] and service.publisher.calls == []


def test_a_conflict_without_a_stored_decision_is_a_retryable_error_not_a_type_error():
    from shared.scorer import DecisionRace

    conversations = FakeConversations(owner="user-1")  # an existing conversation: no race to open it
    service = _service(JA_POOL, history=conversations, db=FakeDb(commit_error=api_exceptions.AlreadyExists("x")),
                       decisions=FakeDecisions(), replies=FakeReplies(), publisher=FakePublisher())
    with pytest.raises(DecisionRace):
        service.handle(_event(user_id="user-1"))


def test_the_first_line_opens_the_conversation_and_writes_the_reply_owner_later_lines_do_not():
    opening = _handle_service(FakeDecisions(), db=FakeDb())
    opening.handle(_event())
    (batch,) = opening.decisions.db.batches
    assert [op[2] for op in batch.ops if op[0] == "exchange"] == [True]
    assert opening.replies.owner == _event().user_id

    db = FakeDb()
    later = _service(JA_POOL, history=FakeConversations(owner=_event().user_id), db=db,
                     decisions=FakeDecisions(), replies=FakeReplies(), publisher=FakePublisher())
    later.handle(_event())
    assert [op[2] for op in db.batches[0].ops if op[0] == "exchange"] == [False]
    assert later.replies.owner is None  # the RTDB owner is not rewritten on every reply


def test_losing_the_race_to_open_a_conversation_to_another_user_is_a_schema_error():
    class RacedConversations(FakeConversations):
        """New when first read; after our commit fails, another user owns it."""

        def read(self, conversation_id):
            self.owner_id = None if self.reads == 0 else "the other user"
            return super().read(conversation_id)

    conversations = RacedConversations()
    service = _service(JA_POOL, history=conversations, db=FakeDb(commit_error=api_exceptions.AlreadyExists("opened")),
                       decisions=FakeDecisions(), replies=FakeReplies(), publisher=FakePublisher())
    with pytest.raises(SchemaError, match="belongs to another user"):
        service.handle(_event(user_id="me"))
    assert service.replies.written == [] and service.publisher.calls == []


def test_a_line_that_lost_to_another_line_decides_again_on_the_new_turns():
    """Another line of the conversation committed between our read and our
    commit (the precondition failed): read again, decide again, no turn lost."""

    class MovedOn(FakeConversations):
        def read(self, conversation_id):
            if self.reads == 1:
                self.history.append(Turn("user", "犬が好きです", "01A"))
            return super().read(conversation_id)

    class FailsOnce(FakeDb):
        def batch(self):
            batch = super().batch()
            batch.error = api_exceptions.FailedPrecondition("changed") if len(self.batches) == 1 else None
            return batch

    db, conversations = FailsOnce(), MovedOn(owner=_event().user_id)
    service = _service(JA_POOL, history=conversations, db=db, decisions=FakeDecisions(), replies=FakeReplies(),
                       publisher=FakePublisher())
    decision = service.handle(_event(user_id=_event().user_id))
    assert conversations.reads == 2 and [b.committed for b in db.batches] == [False, True]
    assert "犬" in decision.reply.keywords


def test_nor_says_the_same_in_other_words_when_a_model_can_tell():
    said = "夏バテはしてないですね。食欲はあります。"
    same = "夏バテは今のところ大丈夫ですよ。食欲もあります。"

    class Meaning:
        def nearest(self, context, k, min_score=-1.0):
            return []

        def same_meaning(self, texts, earlier, threshold):
            return [t == same and said in earlier for t in texts]

    pool = {"夏": [Candidate(same, context="夏バテ"), Candidate("夏はそうめんばかり食べています", context="夏は何を食べますか")]}
    service = _service(candidates=pool, history=["夏バテしてませんか", Turn("bot", said)])
    service.retriever = Meaning()
    decision = service.decide(_event(text="夏はどんな物を食べますか", lang="ja"))
    assert decision.reply.text == "夏はそうめんばかり食べています"


def test_an_utterance_asking_for_delivery_also_publishes_its_reply_and_records_who_posted():
    from shared.events import ReplyEvent, ReplyTarget

    db, decisions = FakeDb(), FakeDecisions(stored=None)
    service = _handle_service(decisions, db=db)
    event = _event(reply_to={"channel": "callback", "address": "https://hooks.example/z"}, caller="webhook")
    decision = service.handle(event)
    create = next(op for op in db.batches[0].ops if op[0] == "create")
    assert create[2] == {**decision.to_dict(), "caller": "webhook"}  # GET /v1/replies lets only the poster read it
    log, delivery = service.publisher.calls
    assert (log.topic, delivery.topic) == ("selection-logs", "replies")
    sent = ReplyEvent.from_json(delivery.data)
    assert sent.reply_to == ReplyTarget("callback", "https://hooks.example/z")
    assert sent.reply == decision.reply.to_dict() and sent.message_id == event.message_id
    assert delivery.attributes == {"message_id": event.message_id}


def test_an_utterance_without_a_reply_target_publishes_only_its_log():
    service = _handle_service(FakeDecisions(stored=None), db=FakeDb())
    service.handle(_event(caller="anonymous"))
    assert [call.topic for call in service.publisher.calls] == ["selection-logs"]


def test_a_question_is_answered_by_a_reply_that_says_something_when_there_is_one():
    pool = {"海": [Candidate("近くの海はきれいですか", context="海"), Candidate("泳げますよー。あなたは?", context="海")]}
    decision = _service(candidates=pool).decide(_event(text="海で泳げますか?", lang="ja", algorithm="tfidf"))
    assert decision.reply.text == "泳げますよー。あなたは?"
    only_questions = {"海": [Candidate("近くの海はきれいですか", context="海")]}
    asked_back = _service(candidates=only_questions).decide(_event(text="海で泳げますか?", lang="ja", algorithm="tfidf"))
    assert asked_back.reply.text == "近くの海はきれいですか"  # better than no answer


def test_the_bot_does_not_go_back_on_what_it_said_it_likes():
    pool = {"料理": [Candidate("得意料理は餃子です!皮から作ります!", context="料理"), Candidate("簡単なものだけ作ります。", context="料理")]}
    history = ["料理は得意ですか?", Turn("bot", "料理はあまり得意ではないです。")]
    decision = _service(candidates=pool, history=history).decide(_event(text="よく作る料理は?", lang="ja", algorithm="tfidf"))
    assert decision.reply.text == "簡単なものだけ作ります。"


def test_a_reply_that_makes_the_topic_its_own_leans_on_it_in_every_sentence():
    # After 「お酒あまり飲めないんですよー。」, 「お酒は一年前から目覚めました!ワイン大好きです!」 said the opposite.
    pool = {"酒": [Candidate("お酒は一年前から目覚めました!ワイン大好きです!", context="お酒"),
                    Candidate("お酒だと甘いカクテルくらいしか飲めないです。", context="お酒")]}
    history = ["お酒は飲みますか?", Turn("bot", "お酒あまり飲めないんですよー。あなたは?")]
    decision = _service(candidates=pool, history=history).decide(_event(text="どんなお酒が好き?", lang="ja", algorithm="tfidf"))
    assert decision.reply.text == "お酒だと甘いカクテルくらいしか飲めないです。"


@pytest.mark.parametrize(
    "utterance, keyword, dropped, kept",
    [
        # A plan is not taken as done.
        ("夏休みに北海道に行くんです", "北海道", "北海道!いいですね!どちらへ行かれたんですか?", "北海道いいですね!どこを回る予定ですか?"),
        # A wish is a plan: not taken as done either.
        ("ライブ行きたいな", "ライブ", "ライブ! いいですね。どこであったんです?", "ライブいいですね!誰のライブですか?"),
        # What is done is not asked about as a plan.
        ("今日髪切ったんだ", "髪", "いいですね、バッサリ切る予定ですか?", "いいですね!短くしたんですか?"),
        # A question is not taken in as news.
        ("ワールドカップ見てます?", "ワールドカップ", "そうなんですね!今年はワールドカップがあるので是非見てください!", "ワールドカップは毎試合見てます!"),
        # News is not answered yes or no, as if it were the bot's.
        ("最近寝不足なんです", "寝不足", "そうなんです。寝不足で毎日つらいです。", "寝不足はつらいですね。早めに寝てくださいね。"),
        # Thanks only for praise or thanks.
        ("毎日寝不足です", "寝不足", "ありがとうございます。寝不足って、夜に何かしてるんですか?", "寝不足はつらいですよね。夜に何かしてるんですか?"),
        # What the user does not do is not asked about as done.
        ("料理は全然できなくて", "料理", "おお、どういったお料理が得意ですか?", "私もです。料理って難しいですよね。"),
        ("全然勉強してない", "勉強", "どうやって勉強しているのですか?", "勉強って、やる気が出ないときありますよね。"),
        # What, where or who is not answered yes or no.
        ("何のゲームやってる?", "ゲーム", "そうです。スイッチのゲームです。", "スイッチのゲームをよくやってます。"),
        # An amount told is not asked for.
        ("ランニングは3キロ走ってます", "ランニング", "ランニングですか!どのくらい走るのですか?", "3キロでも毎日は大変ですよね。"),
        # Bad news is not cheered.
        # (風邪をひいちゃいました alone is the bot's own move now.)
        ("風邪をひいて学校を休みました", "風邪", "いいですね!風邪の時は寝るに限ります", "大変ですね。お大事にしてください"),
    ],
)
def test_a_preference_leaves_out_a_reply_that_does_not_fit_the_line(utterance, keyword, dropped, kept):
    pool = {keyword: [Candidate(dropped, context=keyword), Candidate(kept, context=keyword)]}
    decision = _service(candidates=pool).decide(_event(text=utterance, lang="ja", algorithm="tfidf"))
    assert decision.reply.text == kept


WHY_HISTORY = ["好きな季節はいつですか?", Turn("bot", "好きな季節は、しいて言えば秋ですねー。")]


def test_why_gets_a_reason_for_what_the_bot_said_not_the_question_answered_again():
    # Answered as a reaction, なんで? got 「好きな季節は冬ですね…」.
    pool = {
        "季節": [Candidate("好きな季節は冬ですね寒いですけど夏よりかはマシです", context="季節"),
                 Candidate("冬が一番好きですね。花粉がないので。", context="季節"),
                 Candidate("春と秋でしょうか、お花が好きなので。", context="季節")],
    }
    decision = _service(candidates=pool, history=WHY_HISTORY).decide(_event(text="なんで?", lang="ja", algorithm="tfidf"))
    assert decision.reply.text == "春と秋でしょうか、お花が好きなので。"


def test_why_looks_up_what_the_bot_named():
    history = ["好きな食べ物は何ですか?", Turn("bot", "最近はアボカドをよく食べます。")]
    pool = {"アボカド": [Candidate("アボカドは栄養があるので好きなんです", context="アボカド")]}
    decision = _service(candidates=pool, history=history).decide(_event(text="どうして?", lang="ja", algorithm="tfidf"))
    assert decision.reply.text == "アボカドは栄養があるので好きなんです"


def test_why_with_no_reason_for_what_the_bot_said_gets_the_why_fallback():
    pool = {"季節": [Candidate("冬が一番好きですね。花粉がないので。", context="季節")]}
    decision = _service(candidates=pool, history=WHY_HISTORY).decide(_event(text="どうして?", lang="ja", algorithm="tfidf"))
    assert decision.log.fallback and decision.reply.text in FALLBACK_REPLIES[("ja", "why")]


def test_when_the_user_named_no_topic_the_bots_answer_to_their_question_is_looked_up():
    history = ["最近ハマってることある?", Turn("bot", "最近は、料理本を借りて試すのにハマってます!")]
    pool = {"料理": [Candidate("家でも簡単にできるのでぜひやってみてください。", context="料理")]}
    decision = _service(candidates=pool, history=history).decide(_event(text="私もやってみようかな", lang="ja", algorithm="tfidf"))
    assert decision.reply.text == "家でも簡単にできるのでぜひやってみてください。"


def test_a_greeting_with_more_to_it_is_greeted_back_in_its_own_words():
    pool = {"暑い": [Candidate("暑いですね、溶けそうです", context="暑い"), Candidate("おはようございます!暑いですね", context="暑い"),
                   Candidate("こんにちは、本当に暑くて過ごしづらいですね。", context="暑い")]}
    decision = _service(candidates=pool).decide(_event(text="こんにちは、今日は暑いですね", lang="ja", algorithm="tfidf"))
    assert decision.reply.text == "こんにちは、本当に暑くて過ごしづらいですね。"


def test_the_scorer_profile_times_the_steps_of_a_scorer_as_built(monkeypatch):
    """bench/scorer_profile.py wraps the service's parts by name: it must
    still find them all (it broke once when the commit moved into the store)."""
    import importlib

    from tests.conftest import REPO

    monkeypatch.syspath_prepend(str(REPO / "bench"))
    scorer_profile = importlib.import_module("scorer_profile")
    service = _handle_service(FakeDecisions())
    timer = scorer_profile.StepTimer(service)
    service.handle(_event())
    assert service.decisions.db.batches[0].committed
    assert set(timer.seconds) == set(scorer_profile.STEPS)
