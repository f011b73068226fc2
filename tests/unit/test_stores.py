"""Store logic that needs no Firestore: turn ids, and the candidate cache
(against an in-memory stand-in for the few client calls it makes)."""

from __future__ import annotations

import pytest

from shared import ids
from shared.ranking import Candidate
from shared.stores import CandidateStore, turn_id
from shared.text import keyword_doc_id


def test_turn_ids_sort_in_conversation_order():
    first, second = ids.new_message_id(), ids.new_message_id()
    order = [turn_id(first, "user"), turn_id(first, "bot"), turn_id(second, "user"), turn_id(second, "bot")]
    assert sorted(order) == order


def test_turn_id_of_an_unknown_role_fails():
    with pytest.raises(KeyError):
        turn_id("m", "system")


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

    def get_all(self, refs):
        for ref in refs:
            self.reads.append(ref.id)
            yield _Snapshot(ref.id, self.docs.get(ref.id))


def _doc(*texts: str) -> dict:
    return {"candidates": [{"text": t, "context": "", "source": "test"} for t in texts]}


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
