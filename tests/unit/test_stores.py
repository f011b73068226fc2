"""Store logic that needs no Firestore: the conversation's kept turns, the
owner cache, and the candidate cache (against in-memory stand-ins for the few
client calls they make)."""

from __future__ import annotations

import json

import pytest

from shared.ranking import Candidate
from shared.stores import (
    CANDIDATES_FIELD, CandidateStore, Conversation, ConversationStore, DecisionStore, OwnerCache, Turn, decode_candidates,
    encode_candidates,
)
from shared.text import keyword_doc_id


class _Batch:
    def __init__(self) -> None:
        self.ops: list[tuple] = []

    def create(self, ref, doc):
        self.ops.append(("create", doc, None))

    def update(self, ref, doc, option=None):
        self.ops.append(("update", doc, option))


class _ConversationsDb:
    def collection(self, name):
        return self

    def document(self, doc_id):
        return doc_id

    @staticmethod
    def write_option(last_update_time):
        return ("if unchanged since", last_update_time)


def test_a_new_conversation_is_created_with_its_owner_and_first_exchange():
    batch = _Batch()
    ConversationStore(_ConversationsDb()).add_exchange(batch, "c", Conversation(None), "alice", "m1", "hi", "hello", "t")
    ((kind, doc, _),) = batch.ops
    assert kind == "create" and doc["user_id"] == "alice"
    assert json.loads(doc["turns"]) == [Turn("user", "hi", "m1").to_dict(), Turn("bot", "hello", "m1").to_dict()]


def test_a_later_line_rewrites_the_turns_if_unchanged_keeping_only_the_most_recent():
    batch, earlier = _Batch(), tuple(Turn("user", f"line {i}", f"m{i}") for i in range(4))
    store = ConversationStore(_ConversationsDb(), kept_turns=3)
    store.add_exchange(batch, "c", Conversation("alice", earlier, version=7), "alice", "m9", "new", "reply", "t")
    ((kind, doc, option),) = batch.ops
    assert kind == "update" and "user_id" not in doc  # the owner is never rewritten
    assert option == ("if unchanged since", 7)
    assert [t["text"] for t in json.loads(doc["turns"])] == ["line 3", "new", "reply"]


def test_an_owner_found_is_kept_a_new_conversation_is_asked_again():
    answers = {"c1": ["alice"], "c2": [None, "bob"]}
    asked: list[str] = []

    def lookup(conversation_id):
        asked.append(conversation_id)
        return answers[conversation_id].pop(0)

    owners = OwnerCache(lookup)
    assert [owners("c1"), owners("c1"), owners("c2"), owners("c2"), owners("c2")] == ["alice", "alice", None, "bob", "bob"]
    assert asked == ["c1", "c2", "c2"]


class _Snapshot:
    def __init__(self, doc_id: str, data: dict | None) -> None:
        self.id, self._data = doc_id, data
        self.exists = data is not None

    def to_dict(self):
        return self._data


class _Ref:
    def __init__(self, db: "MemoryDb", doc_id: str) -> None:
        self.db, self.id = db, doc_id

    def set(self, doc: dict) -> None:
        self.db.docs[self.id] = doc


class _Collection:
    def __init__(self, db: "MemoryDb") -> None:
        self.db = db

    def document(self, doc_id: str) -> _Ref:
        return _Ref(self.db, doc_id)


class MemoryDb:
    """``candidates/{doc_id}`` only; counts the documents read."""

    def __init__(self, docs: dict[str, dict] | None = None) -> None:
        self.docs = dict(docs or {})
        self.reads: list[str] = []

    def collection(self, name: str) -> _Collection:
        assert name == "candidates"
        return _Collection(self)

    def get_all(self, refs, field_paths=None):
        for ref in refs:
            self.reads.append(ref.id)
            yield _Snapshot(ref.id, self.docs.get(ref.id))


def _doc(*texts: str) -> dict:
    return {CANDIDATES_FIELD: encode_candidates([{"text": t, "context": "", "source": "test"} for t in texts])}


def test_documents_written_before_candidates_were_json_still_load():
    legacy = {"candidates": [{"text": "猫はかわいい", "context": "猫", "source": "test"}]}
    db = MemoryDb({"猫": legacy, "犬": _doc("犬はかわいい")})
    assert [(c.text, c.context) for c in CandidateStore(db).load(["猫", "犬"])] == [("猫はかわいい", "猫"), ("犬はかわいい", "")]


def test_candidates_round_trip_through_their_json_field():
    candidates = [{"text": "猫は\"かわいい\"", "context": "猫", "source": "test", "terms": "猫 かわいい"}]
    assert decode_candidates({CANDIDATES_FIELD: encode_candidates(candidates)}) == candidates
    assert decode_candidates(None) == [] and decode_candidates({}) == []


def test_load_merges_keywords_in_order_without_repeating_a_text():
    db = MemoryDb({"猫": _doc("猫はかわいい", "動物が好き"), "犬": _doc("犬はかわいい", "動物が好き")})
    loaded = CandidateStore(db).load(["猫", "犬"])
    assert [c.text for c in loaded] == ["猫はかわいい", "動物が好き", "犬はかわいい"]


def test_a_keyword_is_read_once_while_cached_even_when_absent():
    db = MemoryDb({"猫": _doc("猫はかわいい")})
    store = CandidateStore(db, ttl_s=3600)
    store.load(["猫", "宇宙"])
    store.load(["猫", "宇宙"])
    store.load(["宇宙", "猫", "猫"])
    assert sorted(db.reads) == ["宇宙", "猫"]


def test_keywords_are_read_under_their_escaped_document_ids():
    db = MemoryDb({keyword_doc_id("a/b"): _doc("slash"), keyword_doc_id(".."): _doc("dots")})
    assert [c.text for c in CandidateStore(db).load(["a/b", ".."])] == ["slash", "dots"]
    assert db.reads == ["a%2Fb", "%.."]


def test_put_writes_the_document_and_drops_the_cached_copy():
    db = MemoryDb()
    store = CandidateStore(db, ttl_s=3600)
    assert store.load(["猫"]) == []
    store.put("猫", [Candidate("猫はかわいい", "猫が好き", "test")], lang="ja")
    assert db.docs["猫"]["keyword"] == "猫" and db.docs["猫"]["lang"] == "ja"
    assert store.load(["猫"]) == [Candidate("猫はかわいい", "猫が好き", "test")]


def test_no_keywords_load_nothing():
    db = MemoryDb()
    assert CandidateStore(db).load([]) == []
    assert db.reads == []


def test_a_decision_reads_back_as_stored_and_names_whom_it_answered():
    from .fakes import FakeFirestore

    db = FakeFirestore()
    decision = {"reply": {"text": "猫はかわいい"}, "log": {"user_id": "alice", "candidates": [{"text": "猫", "score": 1.0}]}}
    batch = type("Batch", (), {"create": lambda self, ref, doc: ref.create(doc)})()
    DecisionStore(db).add_create(batch, "m1", decision)
    assert DecisionStore(db).get("m1") == decision
    assert DecisionStore(db).answered_user("m1") == "alice"
    assert DecisionStore(db).get("m2") is None and DecisionStore(db).answered_user("m2") is None


def test_a_decision_stored_before_the_json_field_still_replays_and_names_its_user():
    from .fakes import FakeFirestore

    old = {"reply": {"text": "猫はかわいい"}, "log": {"user_id": "alice"}, "opened_conversation": True}
    db = FakeFirestore({"decisions/m1": old})
    assert DecisionStore(db).get("m1") == old
    assert DecisionStore(db).answered_user("m1") == "alice"


@pytest.mark.parametrize(
    "fields",
    [
        {CANDIDATES_FIELD: "not json"},
        {CANDIDATES_FIELD: '{"text": "a dict, not a list"}'},
        {CANDIDATES_FIELD: 42},
        {"candidates": "a string, not a list"},
    ],
)
def test_a_damaged_candidates_document_reads_as_none(fields, caplog):
    assert decode_candidates(fields) == []
    assert "damaged candidates document" in caplog.text


def test_damaged_entries_are_skipped_and_the_rest_kept():
    fields = {CANDIDATES_FIELD: '[{"text": "猫はかわいい"}, {"context": "no text"}, "a string", {"text": ""}]'}
    assert decode_candidates(fields) == [{"text": "猫はかわいい"}]
    db = MemoryDb({"猫": fields})
    assert [c.text for c in CandidateStore(db).load(["猫"])] == ["猫はかわいい"]


class _AtomicDb:
    """A ``FakeFirestore`` with batches that apply all their writes or none (as Firestore commits)."""

    def __init__(self, documents=None, commit_error=None) -> None:
        from .fakes import FakeFirestore

        self.firestore = FakeFirestore(documents)
        self.commit_error = commit_error

    def collection(self, name):
        return self.firestore.collection(name)

    def batch(self):
        db = self

        class Batch:
            def __init__(self) -> None:
                self.writes = []

            def create(self, ref, doc):
                self.writes.append((ref, doc))

            def commit(self):
                if db.commit_error is not None:
                    raise db.commit_error
                if any(ref.path in db.firestore.documents for ref, _ in self.writes):
                    from google.api_core import exceptions

                    raise exceptions.AlreadyExists("exists")
                for ref, doc in self.writes:
                    ref.create(doc)

        return Batch()


_DECISION = {"reply": {"text": "猫はかわいい"}, "log": {"user_id": "alice"}}


def test_a_new_decision_is_created_with_the_writes_that_go_with_it():
    from shared.stores import Created

    db = _AtomicDb()

    def with_it(batch):
        batch.create(db.collection("conversations").document("c1"), {"turns": "[]"})
        return "written"

    assert DecisionStore(db).create_or_replay("m1", _DECISION, with_it) == Created("written")
    assert DecisionStore(db).get("m1") == _DECISION and "conversations/c1" in db.firestore.documents


def test_a_decision_stored_first_is_replayed_and_nothing_that_went_with_ours_is_written():
    from shared.stores import Replayed

    first = {"reply": {"text": "犬もかわいい"}, "log": {"user_id": "alice"}}
    db = _AtomicDb()
    DecisionStore(db).create_or_replay("m1", first)
    outcome = DecisionStore(db).create_or_replay(
        "m1", _DECISION, lambda batch: batch.create(db.collection("conversations").document("c1"), {})
    )
    assert outcome == Replayed(first) and "conversations/c1" not in db.firestore.documents


@pytest.mark.parametrize("error", ["FailedPrecondition", "Conflict", "AlreadyExists"])
def test_a_failed_commit_with_no_decision_stored_is_a_stale_read(error):
    from google.api_core import exceptions

    from shared.stores import StaleRead

    with pytest.raises(StaleRead):
        DecisionStore(_AtomicDb(commit_error=getattr(exceptions, error)("changed"))).create_or_replay("m1", _DECISION)


@pytest.mark.parametrize("error", ["Aborted", "ServiceUnavailable"])
def test_contention_and_outages_propagate_to_be_retried(error):
    from google.api_core import exceptions

    with pytest.raises(getattr(exceptions, error)):
        DecisionStore(_AtomicDb(commit_error=getattr(exceptions, error)("busy"))).create_or_replay("m1", _DECISION)
