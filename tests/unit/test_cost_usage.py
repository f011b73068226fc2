"""The cost bench's billing rules (bench/usage.py) and prices (bench/prices.py), on hand-made messages."""

from __future__ import annotations

import sys
from collections import Counter

from google.cloud.firestore_v1.types import document, firestore as fs, write
from google.pubsub_v1.types import pubsub

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

import prices  # noqa: E402
from usage import FirestoreUsage, PubSubUsage  # noqa: E402

FIRESTORE = "/google.firestore.v1.Firestore/"


def settled(usage, method: str, messages: list[tuple[str, object]]) -> Counter:
    counts: Counter = Counter()
    for kind, message in messages:
        counts.update(usage.message(FIRESTORE + method if "/" not in method else method, kind, type(message).serialize(message)))
    return usage.settle(method, counts)


def test_a_commit_is_billed_per_document_written_or_deleted_and_only_when_it_succeeds():
    request = fs.CommitRequest(writes=[
        write.Write(update=document.Document(name="a/b")),
        write.Write(update=document.Document(name="a/c")),
        write.Write(delete="a/d"),
    ])
    ok = settled(FirestoreUsage(), "Commit", [("request", request), ("response", fs.CommitResponse())])
    assert (ok["writes"], ok["deletes"], ok["commits"]) == (2, 1, 1)
    failed = settled(FirestoreUsage(), "Commit", [("request", request)])
    assert failed["writes"] == 0 and failed["failed_commits"] == 1


def test_a_query_costs_a_read_per_document_and_one_when_it_finds_nothing():
    found = settled(FirestoreUsage(), "RunQuery", [("request", fs.RunQueryRequest())] + [
        ("response", fs.RunQueryResponse(document=document.Document(name=f"a/{i}"))) for i in range(3)])
    assert found["reads"] == 3
    empty = settled(FirestoreUsage(), "RunQuery", [("request", fs.RunQueryRequest()), ("response", fs.RunQueryResponse())])
    assert empty["reads"] == 1


def test_gets_cost_a_read_per_document_found_or_missing():
    got = settled(FirestoreUsage(), "BatchGetDocuments", [
        ("request", fs.BatchGetDocumentsRequest()),
        ("response", fs.BatchGetDocumentsResponse(found=document.Document(name="a/b"))),
        ("response", fs.BatchGetDocumentsResponse(missing="a/c")),
    ])
    assert got["reads"] == 2


def test_a_listener_reads_each_document_version_once_however_often_the_emulator_resends_it():
    usage = FirestoreUsage()
    change = fs.ListenResponse(document_change=write.DocumentChange(document=document.Document(name="r/1")))
    total = Counter()
    for _ in range(3):
        total.update(usage.settle("Listen", Counter(usage.message(FIRESTORE + "Listen", "response", fs.ListenResponse.serialize(change)))))
    assert total["reads"] == 1


def test_publish_counts_messages_their_bytes_and_at_least_1000_billed_bytes():
    request = pubsub.PublishRequest(topic="t", messages=[pubsub.PubsubMessage(data=b"12345", attributes={"k": "vv"}, ordering_key="o")])
    counts = PubSubUsage().message("/google.pubsub.v1.Publisher/Publish", "request", pubsub.PublishRequest.serialize(request))
    assert counts["messages"] == 1 and counts["message_bytes"] == 5 + 3 + 1 and counts["billed_bytes"] == 1000


def test_prices_use_the_deployed_sizes_and_price_every_line():
    sizes = prices.deployed_sizes()
    assert sizes["scorer"].memory_gib == 1.0 and sizes["ingress"].memory_gib == 0.5
    usage = prices.Usage(cpu_s={"ingress": 0.005, "scorer": 0.012, "log_sink": 0.008},
                         requests={"ingress": 1, "scorer": 1, "log_sink": 1},
                         firestore={"reads": 2, "writes": 3, "deletes": 0, "ttl_deletes": 2},
                         pubsub_billed_bytes=4000, bigquery_billed_bytes=1024)
    lines = dict(prices.cost_lines(usage, prices.load_prices()))
    assert lines["Firestore reads"] == 2 * 0.3
    assert lines["Cloud Run requests"] == 3 * 0.4
    assert lines["total, lone requests"] > lines["total, busy instances"] > 0
    assert prices.alternatives(prices.load_prices())
