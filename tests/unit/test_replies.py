"""Reply paths per store, and the store factory."""

from __future__ import annotations

import pytest

from shared.replies import REPLY_PATHS, Reply, make_reply_store, reply_path


@pytest.mark.parametrize(
    "store, expected",
    [
        ("firestore", "replies/c-1/messages/01HZX3V8Q4N6M2K7R9T0B5C1D2"),
        ("rtdb", "/replies/c-1/01HZX3V8Q4N6M2K7R9T0B5C1D2"),
    ],
)
def test_reply_path_templates(store, expected):
    assert reply_path(store, "c-1", "01HZX3V8Q4N6M2K7R9T0B5C1D2") == expected


def test_a_firestore_reply_path_names_a_document():
    # collection/doc/collection/doc: an even number of segments.
    assert len(reply_path("firestore", "c", "m").split("/")) % 2 == 0


def test_reply_path_of_an_unknown_store_fails():
    with pytest.raises(KeyError):
        reply_path("dynamodb", "c", "m")


class _Clients:
    firestore = object()
    rtdb = object()


def test_make_reply_store_builds_the_firestore_store():
    store = make_reply_store("firestore", _Clients())
    assert hasattr(store, "write")


@pytest.mark.parametrize("store", ["dynamodb", "", "Firestore"])
def test_make_reply_store_rejects_an_unknown_store(store):
    with pytest.raises(ValueError, match="REPLY_STORE"):
        make_reply_store(store, _Clients())


@pytest.mark.parametrize("store", sorted(REPLY_PATHS))
def test_every_store_that_hands_out_a_reply_path_can_be_built(store):
    """Ingress must never promise a path that no store writes."""
    assert hasattr(make_reply_store(store, _Clients()), "write")


def test_reply_round_trips_through_its_dict():
    reply = Reply("猫はかわいい", "bm25", 2.5, ["猫"], "m-1", "2024-05-01T12:00:00.120Z")
    assert Reply.from_dict(reply.to_dict()) == reply
    assert Reply.from_dict({**reply.to_dict(), "extra": 1}) == reply  # stored documents may carry more


class _Node:
    """A stand-in for a firebase_admin Reference: a dict keyed by path."""

    def __init__(self, tree: dict, path: str = "") -> None:
        self.tree, self.path = tree, path

    def child(self, path: str) -> "_Node":
        assert not path.startswith("/")
        return _Node(self.tree, f"{self.path}/{path}")

    def set(self, value) -> None:
        self.tree[self.path] = value

    def get(self):
        return self.tree.get(self.path)


def test_the_rtdb_store_writes_the_path_ingress_handed_out_idempotently():
    from shared.replies import RtdbReplyStore

    tree: dict = {}
    store = RtdbReplyStore(_Node(tree))
    reply = Reply("hi", "tfidf", 1.0, [], "m-1", "2024-05-01T12:00:00.120Z")
    store.write("c-1", reply, owner="u-1")
    store.write("c-1", reply, owner="u-1")
    assert tree["/conversations/c-1/owner"] == "u-1"
    assert sorted(tree) == ["/conversations/c-1/owner", reply_path("rtdb", "c-1", "m-1")]
    tree[reply_path("rtdb", "c-1", "m-1")].pop("keywords")  # RTDB drops an empty list
    assert store.read("c-1", "m-1") == reply
    assert store.read("c-1", "other") is None
