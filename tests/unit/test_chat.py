"""The terminal chat's reply watcher: a reply its listener missed is still found."""

from __future__ import annotations

from jobs.chat import FirestoreReplyWatcher


class _Snapshot:
    def __init__(self, data: dict | None) -> None:
        self.exists = data is not None
        self._data = data

    def to_dict(self) -> dict | None:
        return self._data


class _SilentDocument:
    """A document whose listener never fires (the stream missed the write)."""

    def __init__(self, data: dict | None) -> None:
        self._data = data
        self.unsubscribed = False

    def on_snapshot(self, callback):
        return self

    def unsubscribe(self) -> None:
        self.unsubscribed = True

    def get(self) -> _Snapshot:
        return _Snapshot(self._data)


class _Db:
    def __init__(self, document: _SilentDocument) -> None:
        self._document = document

    def document(self, path: str) -> _SilentDocument:
        return self._document


def test_a_reply_the_listener_missed_is_read_once_before_giving_up():
    document = _SilentDocument({"text": "こんにちは!"})
    assert FirestoreReplyWatcher(_Db(document)).wait("replies/c/messages/m", timeout=0.01) == {"text": "こんにちは!"}
    assert document.unsubscribed


def test_no_reply_is_none():
    assert FirestoreReplyWatcher(_Db(_SilentDocument(None))).wait("replies/c/messages/m", timeout=0.01) is None
