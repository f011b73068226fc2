"""Idempotency-Key logic and the signature ledger, on an in-memory Firestore fake."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.errors import ApiError
from shared.idempotency import Idempotency, body_hash
from shared.stores import IdempotencyKeys, SignatureLedger

from .fakes import FakeFirestore


def _idempotency():
    db = FakeFirestore()
    return Idempotency(IdempotencyKeys(db)), db


def test_the_first_request_runs_and_a_retry_gets_its_answer():
    idem, _ = _idempotency()
    runs = []
    handle = lambda: runs.append(1) or {"message_id": f"m{len(runs)}"}
    assert idem.run("k", "s", {"a": 1, "b": 2}, handle) == {"message_id": "m1"}
    assert idem.run("k", "s", {"b": 2, "a": 1}, handle) == {"message_id": "m1"}  # key order does not matter
    assert runs == [1]


def test_another_body_with_the_key_is_422():
    idem, _ = _idempotency()
    idem.run("k", "s", {"a": 1}, lambda: {"ok": 1})
    with pytest.raises(ApiError) as raised:
        idem.run("k", "s", {"a": 2}, lambda: {"ok": 2})
    assert (raised.value.code, raised.value.status) == ("idempotency_key_reused", 422)


def test_a_key_still_in_progress_is_409_with_retry_after():
    idem, _ = _idempotency()

    def inner():
        with pytest.raises(ApiError) as raised:
            idem.run("k", "s", {"a": 1}, lambda: {"ok": 2})
        assert (raised.value.status, raised.value.retry_after_s) == (409, 1)
        return {"ok": 1}

    assert idem.run("k", "s", {"a": 1}, inner) == {"ok": 1}


def test_a_failed_request_releases_its_key():
    idem, db = _idempotency()
    with pytest.raises(ApiError):
        idem.run("k", "s", {"a": 1}, lambda: (_ for _ in ()).throw(ApiError("unavailable", "down")))
    assert db.documents == {}
    assert idem.run("k", "s", {"a": 1}, lambda: {"ok": 1}) == {"ok": 1}


def test_keys_are_scoped():
    idem, _ = _idempotency()
    assert idem.run("k", "alice", {"a": 1}, lambda: {"who": "alice"}) == {"who": "alice"}
    assert idem.run("k", "bob", {"a": 1}, lambda: {"who": "bob"}) == {"who": "bob"}


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "é"])
def test_malformed_keys_are_400(key):
    idem, _ = _idempotency()
    with pytest.raises(ApiError) as raised:
        idem.run(key, "s", {}, lambda: {})
    assert raised.value.status == 400


def test_an_expired_record_not_yet_swept_is_replaced():
    db = FakeFirestore()
    keys = IdempotencyKeys(db)
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    assert keys.reserve("d", body_hash({"a": 1}), now=long_ago) is None
    assert keys.reserve("d", body_hash({"a": 2})) is None  # a day later: a new record
    records = list(db.documents.values())
    assert records[0]["body_sha256"] == body_hash({"a": 2})
    assert records[0]["expire_at"] > dt.datetime.now(dt.timezone.utc)


def test_a_signature_is_good_once_unless_retried_with_the_same_key():
    ledger = SignatureLedger(FakeFirestore())
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    assert ledger.first_use("d1", later, None) is True
    assert ledger.first_use("d1", later, None) is False
    assert ledger.first_use("d2", later, "k") is True
    assert ledger.first_use("d2", later, "k") is True
    assert ledger.first_use("d2", later, "other") is False
    assert ledger.first_use("d2", later, None) is False
