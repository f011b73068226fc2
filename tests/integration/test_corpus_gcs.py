"""Shards on Cloud Storage (gs://), through google-cloud-storage, against a
local Cloud Storage stand-in (gcp-storage-emulator, run in this process)."""

from __future__ import annotations

import socket

import pytest

from jobs.corpus import shards
from shared import config
from shared.clients import Clients

BUCKET = "corpus-shards"


@pytest.fixture
def cloud_storage(monkeypatch):
    from gcp_storage_emulator.server import create_server

    with socket.socket() as probe:  # a free port for the stand-in
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    # google-cloud-storage talks to the stand-in when this is set.
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "zatsudan-local")
    clients = Clients(config.load())
    yield lambda: clients.storage  # what the corpus jobs hand the shards
    server.stop()


def test_shards_round_trip_through_cloud_storage(cloud_storage):
    rows = [{"post_id": "p1", "keyword": "猫", "text": "猫が好き", "reply_text": "私も", "lang": "ja"}]
    urls = shards.ShardStore(f"gs://{BUCKET}/runs/", cloud_storage).write("run1", {0: rows, 1: [], 2: rows * 2})
    assert urls == {0: f"gs://{BUCKET}/runs/run1/shard-00000.jsonl", 2: f"gs://{BUCKET}/runs/run1/shard-00002.jsonl"}
    assert shards.read_rows(urls[0], cloud_storage) == rows
    assert shards.read_rows(urls[2], cloud_storage) == rows * 2


def test_a_missing_shard_on_cloud_storage_is_a_task_error(cloud_storage):
    with pytest.raises(shards.TaskError):
        shards.read_rows(f"gs://{BUCKET}/runs/none/shard-00000.jsonl", cloud_storage)
