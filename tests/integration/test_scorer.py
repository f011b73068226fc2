"""The scorer against the Firestore and Pub/Sub emulators: in process, and as
the stack's function receiving pushes."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest
import requests

from shared.app import build_scorer_service
from shared.events import SelectionLog, UtteranceEvent
from shared.ranking import Candidate
from shared.replies import Reply
from shared.scorer import FALLBACK_REPLIES
from shared.stores import CandidateStore, ConversationStore, DecisionStore
from tests.support import eventually, utterance_event


def make_event(conversation_id: str, text: str, lang: str = "en", algorithm: str = "tfidf"):
    return utterance_event(conversation_id, text, lang, algorithm)


@pytest.fixture
def service(settings, clients):
    """The scorer as deployed, but without the look-up by meaning: these tests
    are about keyword candidates, and the shared stack may hold any model."""
    from shared.scorer import NoRetriever

    built = build_scorer_service(settings, clients)
    built.retriever = NoRetriever()
    return built


@pytest.fixture
def topic_word(clients, unique):
    """A made-up keyword with its own candidates, shared by no other test."""
    word = f"zq{unique}"
    CandidateStore(clients.firestore).put(
        word,
        [
            Candidate(text="hello", context="hi"),
            Candidate(text=f"I love {word} too, especially in winter", context=f"do you like {word}"),
        ],
        "en",
    )
    return word


def read_reply(clients, event: UtteranceEvent) -> Reply | None:
    snapshot = clients.firestore.document(event.reply_path).get()
    return Reply.from_dict(snapshot.to_dict()) if snapshot.exists else None


@pytest.mark.parametrize("algorithm", ["tfidf", "bm25"])
def test_reply_is_the_best_candidate_written_at_reply_path(service, clients, pull, unique, topic_word, algorithm):
    logs = pull("selection-logs")
    event = make_event(unique, f"I really like {topic_word}", algorithm=algorithm)
    service.handle(event)

    reply = read_reply(clients, event)
    assert reply.text.startswith(f"I love {topic_word}")
    assert (reply.algorithm, reply.message_id) == (algorithm, event.message_id)
    assert topic_word in reply.keywords
    (message,) = logs.read(expect=1)
    log = SelectionLog.from_json(message.data)
    assert (log.message_id, log.reply_text, log.fallback) == (event.message_id, reply.text, False)
    assert log.candidate_count == 2 and log.candidates[0].text == reply.text


def test_no_candidates_gives_a_clear_fallback_reply(service, clients, unique):
    event = make_event(unique, "qqqxyzzy wibblefrotz", lang="en")
    decision = service.handle(event)
    assert read_reply(clients, event).text == FALLBACK_REPLIES[("en", "statement")][0]
    assert decision.log.fallback is True


def test_redelivery_replays_the_same_reply_and_log(service, clients, pull, unique, topic_word):
    logs = pull("selection-logs")
    event = make_event(unique, f"tell me about {topic_word}")
    first = service.handle(event)
    # New candidates between deliveries must not change a reply already given.
    CandidateStore(clients.firestore).put(topic_word, [Candidate(text=f"{topic_word} is overrated")], "en")
    second = service.handle(event)
    assert second == first
    assert read_reply(clients, event) == first.reply
    # Both deliveries publish the log (the first publish may have been lost);
    # it is the same log, and the sink keeps one row per message id.
    assert [SelectionLog.from_json(m.data) for m in logs.read(expect=2)] == [first.log, first.log]


def test_recent_turns_shape_the_topic(service, clients, unique, topic_word):
    service.handle(make_event(unique, f"I keep thinking about {topic_word}"))
    follow_up = make_event(unique, "what do you think")
    decision = service.handle(follow_up)
    assert topic_word in decision.reply.keywords
    turns = ConversationStore(clients.firestore).read(unique).turns
    assert [t.role for t in turns] == ["user", "bot", "user", "bot"]
    assert [t.message_id for t in turns][::2] == sorted(t.message_id for t in turns[::2])


def publish_raw(clients, settings, data: bytes, **attributes) -> None:
    topic = clients.publisher.topic_path(settings.project, settings.topics.utterances)
    clients.publisher.publish(topic, data, ordering_key=attributes.pop("ordering_key", ""), **attributes).result()


def test_pushed_utterance_gets_a_reply_from_the_stack_scorer(clients, settings, unique, topic_word):
    event = make_event(unique, f"{topic_word} is great", algorithm="bm25")
    publish_raw(clients, settings, event.to_json(), ordering_key=unique)
    reply = eventually(lambda: read_reply(clients, event), timeout=15)
    assert reply and reply.algorithm == "bm25"


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"not json at all", "not JSON"),
        (json.dumps({"message_id": "x"}).encode(), "missing field"),
        (b"", "not JSON"),
    ],
)
def test_poison_utterance_is_dead_lettered_with_its_reason(clients, settings, pull, payload, reason):
    dead = pull("utterances-dead")
    publish_raw(clients, settings, payload, message_id="poison")
    (message,) = dead.read(expect=1, timeout=15)
    assert message.data == payload
    assert reason in message.attributes["dead_letter_reason"]
    assert message.attributes["dead_letter_source"] == "scorer"


def test_unknown_algorithm_is_dead_lettered(clients, settings, pull, unique):
    dead = pull("utterances-dead")
    event = make_event(unique, "hello", algorithm="no_such_ranker")
    publish_raw(clients, settings, event.to_json())
    (message,) = dead.read(expect=1, timeout=15)
    assert "unknown algorithm" in message.attributes["dead_letter_reason"]


def test_an_utterance_into_another_users_conversation_is_dead_lettered_and_changes_nothing(
    service, clients, settings, pull, unique, topic_word
):
    owners = make_event(unique, f"{topic_word} is great")
    service.handle(owners)
    dead = pull("utterances-dead")
    intruders = dataclasses.replace(make_event(unique, f"{topic_word} again"), user_id="intruder")
    publish_raw(clients, settings, intruders.to_json(), ordering_key=unique)
    (message,) = dead.read(expect=1, timeout=15)
    assert "belongs to another user" in message.attributes["dead_letter_reason"]
    conversation = clients.firestore.collection("conversations").document(unique)
    assert conversation.get().get("user_id") == "tester"
    assert len(ConversationStore(clients.firestore).read(unique).turns) == 2  # the owner's exchange only
    assert read_reply(clients, intruders) is None


def test_a_push_that_is_not_pubsub_is_rejected_not_crashed(stack):
    response = requests.post(
        f"{stack.url('scorer')}/projects/{stack.project}/topics/utterances",
        data=b"garbage",
        headers={"content-type": "application/json"},
        timeout=5,
    )
    assert 400 <= response.status_code < 500
    envelope = {"message": {"data": base64.b64encode(b"{}").decode(), "messageId": "1"}, "subscription": "s"}
    assert requests.post(
        f"{stack.url('scorer')}/projects/{stack.project}/topics/utterances", json=envelope, timeout=5
    ).status_code < 300


# ----- redelivery after a committed decision; two users racing one conversation -----
def scorer_with(settings, clients, faults):
    from shared.scorer import ScorerService

    base = build_scorer_service(settings, clients)
    return ScorerService(
        settings, base.conversations, base.candidates, base.decisions, base.replies,
        base.publisher, base.rankers, faults,
    )


@pytest.mark.parametrize("failing", [("scorer.owner_check",), ("scorer.rank",), ("scorer.owner_check", "scorer.rank")])
def test_a_redelivery_after_a_committed_decision_writes_exactly_its_reply_even_if_checks_would_fail(
    settings, clients, pull, unique, topic_word, failing
):
    from shared.faults import FaultInjector, InjectedFault

    logs = pull("selection-logs")
    event = make_event(unique, f"tell me about {topic_word}")
    # The first delivery commits its decision (and, replies being in Firestore,
    # its reply with it), then dies before the log is published.
    with pytest.raises(InjectedFault):
        scorer_with(settings, clients, FaultInjector(rate=1.0, points=frozenset({"scorer.after_commit"}))).handle(event)
    stored = DecisionStore(clients.firestore).get(event.message_id)
    assert read_reply(clients, event).to_dict() == stored["reply"]
    # The redelivery reaches an instance whose owner check and ranker fail.
    redelivered = scorer_with(settings, clients, FaultInjector(rate=1.0, points=frozenset(failing))).handle(event)
    assert read_reply(clients, event).to_dict() == stored["reply"]
    assert redelivered.reply.to_dict() == stored["reply"]
    (message,) = logs.read(expect=1)
    assert SelectionLog.from_json(message.data).to_dict() == stored["log"]


class RaceAtCommit:
    """A fault injector that holds both scorers at ``scorer.before_write`` until
    both are there, once: a loser deciding again passes straight through."""

    enabled = True

    def __init__(self, parties: int) -> None:
        import threading

        self.barrier = threading.Barrier(parties, timeout=20)
        self.released = threading.Event()

    def point(self, name, key, payload=""):
        if name == "scorer.before_write" and not self.released.is_set():
            try:
                self.barrier.wait()
            except Exception:  # broken by a timeout: let the test's assertions tell
                pass
            self.released.set()


def test_two_users_racing_the_first_line_of_one_conversation_end_with_one_owner(settings, clients, unique, topic_word):
    from concurrent.futures import ThreadPoolExecutor

    from shared.events import SchemaError

    race = RaceAtCommit(2)
    events = [dataclasses.replace(make_event(unique, f"{topic_word} is mine"), user_id=user) for user in ("alice", "bob")]
    scorers = [scorer_with(settings, clients, race) for _ in events]

    def speak(i):
        try:
            return scorers[i].handle(events[i])
        except SchemaError as error:
            return error

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(speak, range(2)))
    refused = [i for i, o in enumerate(outcomes) if isinstance(o, SchemaError)]
    answered = [i for i, o in enumerate(outcomes) if not isinstance(o, SchemaError)]
    assert len(refused) == 1 and len(answered) == 1, outcomes
    assert "belongs to another user" in str(outcomes[refused[0]])
    winner, loser = events[answered[0]], events[refused[0]]
    conversation = clients.firestore.collection("conversations").document(unique)
    assert conversation.get().get("user_id") == winner.user_id
    assert {t.message_id for t in ConversationStore(clients.firestore).read(unique).turns} == {winner.message_id}
    assert read_reply(clients, winner) is not None and read_reply(clients, loser) is None
    assert not clients.firestore.collection("decisions").document(loser.message_id).get().exists


def test_two_lines_of_one_conversation_decided_at_once_both_keep_their_turns(settings, clients, unique, topic_word):
    """Both read the conversation, both commit against the version they read:
    one wins, the other finds the document changed, reads it again and decides
    on top of it. No turn is lost (the turns are one document, rewritten)."""
    from concurrent.futures import ThreadPoolExecutor

    opening = make_event(unique, f"{topic_word} is mine")
    scorer_with(settings, clients, faults_off()).handle(opening)
    race = RaceAtCommit(2)
    lines = [make_event(unique, f"{topic_word} {word}") for word in ("again", "forever")]
    scorers = [scorer_with(settings, clients, race) for _ in lines]
    with ThreadPoolExecutor(2) as pool:
        decisions = list(pool.map(lambda i: scorers[i].handle(lines[i]), range(2)))
    turns = ConversationStore(clients.firestore).read(unique).turns
    assert sorted(t.message_id for t in turns) == sorted([opening.message_id] * 2 + [e.message_id for e in lines] * 2)
    assert [read_reply(clients, e) for e in lines] == [d.reply for d in decisions]


def test_one_message_delivered_twice_at_once_is_decided_once(settings, clients, unique, topic_word):
    """Concurrent redelivery: both deliveries decide, one commit wins, the
    other replays the winner's decision; one reply, the same for both."""
    from concurrent.futures import ThreadPoolExecutor

    scorer_with(settings, clients, faults_off()).handle(make_event(unique, f"{topic_word} is mine"))
    race = RaceAtCommit(2)
    event = make_event(unique, f"{topic_word} again")
    scorers = [scorer_with(settings, clients, race) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda s: s.handle(event), scorers)
    assert first == second
    assert read_reply(clients, event) == first.reply
    turns = ConversationStore(clients.firestore).read(unique).turns
    assert [t.message_id for t in turns].count(event.message_id) == 2  # its user and bot turns, once


def faults_off():
    from shared.faults import NO_FAULTS

    return NO_FAULTS
