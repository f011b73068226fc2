"""Where replies go: the key clients watch, and the stores that write it.

Ingress tells the caller ``reply_path`` before the reply exists; the scorer
later writes the reply there with one idempotent ``set``. The path template
per store is data, so ingress needs no store client to compute it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

REPLY_PATHS = {
    "firestore": "replies/{conversation_id}/messages/{message_id}",
    "rtdb": "/replies/{conversation_id}/{message_id}",
}


# Who may read a conversation's RTDB replies (see infra/database.rules.json).
OWNER_PATH = "/conversations/{conversation_id}/owner"


def reply_path(store: str, conversation_id: str, message_id: str) -> str:
    return REPLY_PATHS[store].format(conversation_id=conversation_id, message_id=message_id)


@dataclass(frozen=True)
class Reply:
    """What a client sees at ``reply_path``."""

    text: str
    algorithm: str
    score: float
    keywords: list[str]
    message_id: str
    created_at: str

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Reply":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


class ReplyStore(Protocol):
    def write(self, conversation_id: str, reply: Reply, owner: str | None = None) -> None:
        """Write ``reply`` at its path; writing the same reply twice is a no-op.

        ``owner`` (the conversation's user id) is what the security rules let
        read the reply; a store records it where its rules look."""

    def add_to(self, batch, conversation_id: str, reply: Reply) -> bool:
        """Add the reply's write to ``batch`` (the decision's Firestore commit)
        if this store lives in that database; whether it did."""


class FirestoreReplyStore:
    def __init__(self, firestore_client) -> None:
        self._db = firestore_client

    def write(self, conversation_id: str, reply: Reply, owner: str | None = None) -> None:
        # The owner is conversations/{c}.user_id, written by the scorer with the turns.
        self._db.document(reply_path("firestore", conversation_id, reply.message_id)).set(reply.to_dict())

    def add_to(self, batch, conversation_id: str, reply: Reply) -> bool:
        # With the decision, in one commit: one round trip fewer, and the reply
        # exists exactly when its decision does.
        batch.set(self._db.document(reply_path("firestore", conversation_id, reply.message_id)), reply.to_dict())
        return True

    def read(self, conversation_id: str, message_id: str) -> Reply | None:
        snapshot = self._db.document(reply_path("firestore", conversation_id, message_id)).get()
        return Reply.from_dict(snapshot.to_dict()) if snapshot.exists else None


class RtdbReplyStore:
    """Replies in the Realtime Database, under the key ingress handed out.

    ``set`` of the same value twice leaves the node as it was (listeners see
    no change), so a redelivered event is harmless. The conversation's owner
    goes to ``/conversations/{c}/owner`` first, so the security rules
    (infra/database.rules.json) let that user read the reply the moment it
    appears."""

    def __init__(self, root_reference) -> None:
        self._root = root_reference

    def write(self, conversation_id: str, reply: Reply, owner: str | None = None) -> None:
        if owner is not None:
            self._root.child(OWNER_PATH.format(conversation_id=conversation_id).lstrip("/")).set(owner)
        self._node(conversation_id, reply.message_id).set(reply.to_dict())

    def add_to(self, batch, conversation_id: str, reply: Reply) -> bool:
        return False  # another database: written after the commit

    def read(self, conversation_id: str, message_id: str) -> Reply | None:
        data = self._node(conversation_id, message_id).get()
        # An empty keyword list is not stored: RTDB drops empty values.
        return Reply.from_dict({"keywords": [], **data}) if data else None

    def _node(self, conversation_id: str, message_id: str):
        return self._root.child(reply_path("rtdb", conversation_id, message_id).lstrip("/"))


def make_reply_store(store: str, clients) -> ReplyStore:
    factories = {
        "firestore": lambda: FirestoreReplyStore(clients.firestore),
        "rtdb": lambda: RtdbReplyStore(clients.rtdb),
    }
    if store not in factories:
        raise ValueError(f"REPLY_STORE={store!r} is not one of {sorted(factories)}")
    return factories[store]()
