"""firebase_admin.db against a Realtime Database (local server or real: see conftest)."""

from __future__ import annotations

import queue
import threading

import pytest
from firebase_admin import db, exceptions


@pytest.mark.parametrize(
    "value, stored",
    [
        ("hello", "hello"),
        (42, 42),
        (1.5, 1.5),
        (True, True),
        ({"a": 1, "b": {"c": "x"}}, {"a": 1, "b": {"c": "x"}}),
        ({"a": 1, "gone": None, "empty": {}}, {"a": 1}),  # nulls and empty objects vanish
        ({"list": ["x", "y"]}, {"list": ["x", "y"]}),  # arrays come back as arrays
        ({"日本語": "猫が好き"}, {"日本語": "猫が好き"}),
    ],
)
def test_set_then_get(ref, value, stored):
    ref.set(value)
    assert ref.get() == stored


def test_missing_node_reads_none(ref):
    assert ref.child("nothing/here").get() is None


def test_set_replaces_and_children_are_addressable(ref):
    ref.set({"a": {"b": 1, "c": 2}})
    ref.child("a").set({"d": 3})
    assert ref.get() == {"a": {"d": 3}}
    assert ref.child("a/d").get() == 3


def test_update_merges_and_takes_multi_segment_paths(ref):
    ref.set({"a": {"b": 1, "c": 2}, "keep": True})
    ref.update({"a/b": 10, "new/deep": "x", "keep": None})
    assert ref.get() == {"a": {"b": 10, "c": 2}, "new": {"deep": "x"}}


def test_push_makes_ordered_twenty_char_ids(ref):
    keys = [ref.push({"n": i}).key for i in range(5)]
    assert all(len(k) == 20 for k in keys)
    assert keys == sorted(keys)
    assert [v["n"] for v in ref.order_by_key().get().values()] == [0, 1, 2, 3, 4]


def test_delete_removes_the_node_and_emptied_parents(ref):
    ref.set({"a": {"b": 1}})
    ref.child("a/b").delete()
    assert ref.get() is None


def test_etag_read_and_conditional_writes(ref):
    ref.set({"v": 1})
    value, etag = ref.get(etag=True)
    assert value == {"v": 1} and etag
    changed, same_value, same_etag = ref.get_if_changed(etag)
    assert (changed, same_value, same_etag) == (False, None, None)

    ok, _, new_etag = ref.set_if_unchanged(etag, {"v": 2})
    assert ok and new_etag != etag
    ok, current, current_etag = ref.set_if_unchanged(etag, {"v": 3})  # stale etag
    assert (ok, current, current_etag) == (False, {"v": 2}, new_etag)
    changed, value, _ = ref.get_if_changed(etag)
    assert changed and value == {"v": 2}


def test_transactions_under_contention_lose_no_increment(ref):
    ref.set(0)
    threads = [threading.Thread(target=lambda: [ref.transaction(lambda n: (n or 0) + 1) for _ in range(5)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ref.get() == 20


def test_transaction_abort_leaves_data(ref):
    ref.set("kept")

    def refuse(_):
        raise ValueError("no")

    with pytest.raises(ValueError):
        ref.transaction(refuse)
    assert ref.get() == "kept"


SCORES = {"alice": {"score": 30, "age": 20}, "bob": {"score": 10, "age": 40}, "carol": {"score": 20, "age": 30}, "dave": {"score": 40}}


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda r: r.order_by_key(), ["alice", "bob", "carol", "dave"]),
        (lambda r: r.order_by_key().limit_to_first(2), ["alice", "bob"]),
        (lambda r: r.order_by_key().limit_to_last(2), ["carol", "dave"]),
        (lambda r: r.order_by_key().start_at("b").end_at("c~"), ["bob", "carol"]),
        (lambda r: r.order_by_child("score"), ["bob", "carol", "alice", "dave"]),
        (lambda r: r.order_by_child("score").limit_to_last(1), ["dave"]),
        (lambda r: r.order_by_child("score").start_at(20).end_at(30), ["carol", "alice"]),
        (lambda r: r.order_by_child("score").equal_to(10), ["bob"]),
        (lambda r: r.order_by_child("age"), ["dave", "alice", "carol", "bob"]),  # missing child sorts first
    ],
)
def test_ordered_queries(ref, build, expected):
    ref.set(SCORES)
    assert list(build(ref).get()) == expected


def test_order_by_value(ref):
    ref.set({"a": 3, "b": "text", "c": 1, "d": True, "e": 2})
    assert list(ref.order_by_value().get()) == ["d", "c", "e", "a", "b"]  # booleans, numbers, strings
    assert list(ref.order_by_value().start_at(2).limit_to_first(2).get()) == ["e", "a"]


def test_shallow_read(ref):
    ref.set({"a": {"deep": {"er": 1}}, "b": {"x": 2}})
    assert ref.get(shallow=True) == {"a": True, "b": True}
    ref.child("leaf").set("v")
    assert ref.child("leaf").get(shallow=True) == "v"


def _listen(ref):
    events: queue.Queue = queue.Queue()
    registration = ref.listen(lambda event: events.put((event.event_type, event.path, event.data)))
    return events, registration


def _next(events):
    return events.get(timeout=10)


def test_listen_sees_current_value_then_writes_at_above_and_below(ref):
    ref.child("room").set({"a": 1})
    events, registration = _listen(ref.child("room"))
    try:
        assert _next(events) == ("put", "/", {"a": 1})
        ref.child("room/b").set(2)  # below
        assert _next(events) == ("put", "/b", 2)
        ref.child("room").update({"a": 5, "c/d": "x"})  # at: patch
        assert _next(events) == ("patch", "/", {"a": 5, "c/d": "x"})
        ref.set({"room": {"z": True}})  # above
        assert _next(events) == ("put", "/", {"z": True})
        ref.child("elsewhere").set(1)  # unrelated: no event
        ref.child("room").delete()
        assert _next(events) == ("put", "/", None)
    finally:
        registration.close()


def test_listen_on_a_missing_node_starts_with_none(ref):
    events, registration = _listen(ref.child("later"))
    try:
        assert _next(events) == ("put", "/", None)
        ref.child("later").set({"text": "hi"})
        assert _next(events) == ("put", "/", {"text": "hi"})
    finally:
        registration.close()


@pytest.mark.parametrize("bad", [{"a.b": 1}, {"x": {"$y": 1}}, {"has/slash": 1}])
def test_invalid_keys_are_rejected_with_a_clear_error(ref, bad):
    with pytest.raises(exceptions.InvalidArgumentError):
        ref.set(bad)
    assert ref.get() is None
