"""The ``router/stats`` document: read once per TTL, a failed read keeps routing, its form round-trips."""

from __future__ import annotations

from shared.bandit import ArmStats, ThompsonRouter
from shared.stores import RouterStatsStore, stats_from_dict, stats_to_dict


class FakeDocument:
    def __init__(self, data=None, error=None) -> None:
        self.data, self.error, self.reads = data, error, 0

    def get(self):
        self.reads += 1
        if self.error:
            raise self.error
        data = self.data
        return type("Snapshot", (), {"exists": data is not None, "to_dict": lambda self: data})()

    def set(self, data):
        self.data = data


class FakeDb:
    def __init__(self, document) -> None:
        self.document_ref = document

    def collection(self, name):
        assert name == "router"
        return self

    def document(self, name):
        assert name == "stats"
        return self.document_ref


def test_the_stats_document_is_read_once_per_ttl_and_round_trips():
    document = FakeDocument()
    store = RouterStatsStore(FakeDb(document), ttl_s=60)
    store.put({"bm25": ArmStats(3, 2.5)})
    assert store.get() == {"bm25": ArmStats(3, 2.5)}
    assert store.get() == {"bm25": ArmStats(3, 2.5)}
    assert document.reads == 1


def test_a_failed_stats_read_keeps_routing():
    store = RouterStatsStore(FakeDb(FakeDocument(error=RuntimeError("down"))), ttl_s=60)
    router = ThompsonRouter(["a", "b"], store.get, seed=1)
    assert router.choose().algorithm in ("a", "b")


def test_stats_dict_round_trip_ignores_junk():
    data = stats_to_dict({"a": ArmStats(2, 1.5)})
    data["arms"]["junk"] = "not a map"
    assert stats_from_dict(data) == {"a": ArmStats(2, 1.5)}
