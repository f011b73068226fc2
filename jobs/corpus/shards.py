"""Shards of ``clean_posts`` and the task that names one.

A shard is a newline-delimited JSON file of rows. Rows are assigned to shards
by a stable hash of their keyword, so all rows of a keyword land in one shard
(see ``candidates``). The shard location is a URL: ``file:///abs/dir`` or a
plain path locally, ``gs://bucket/prefix`` in production (Cloud Storage,
through google-cloud-storage: the caller hands a maker of its client,
``lambda: clients.storage``, made only when a shard is at gs://).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlparse

TASK_SCHEMA_VERSION = 1


class TaskError(ValueError):
    """A task message that can never be processed (poison)."""


def shard_of(keyword: str, shards: int) -> int:
    digest = hashlib.blake2b(keyword.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.jsonl"


@dataclass(frozen=True)
class ShardTask:
    run_id: str
    shard: int
    uri: str
    rows: int
    schema_version: int = TASK_SCHEMA_VERSION

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> "ShardTask":
        try:
            raw = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise TaskError("task is not JSON") from None
        if not isinstance(raw, dict):
            raise TaskError("task is not a JSON object")
        if raw.get("schema_version") != TASK_SCHEMA_VERSION:
            raise TaskError(f"unknown task schema_version {raw.get('schema_version')!r}")
        try:
            task = cls(run_id=raw["run_id"], shard=raw["shard"], uri=raw["uri"], rows=raw["rows"])
        except KeyError as missing:
            raise TaskError(f"task lacks {missing}") from None
        if not (isinstance(task.run_id, str) and task.run_id and isinstance(task.uri, str) and task.uri):
            raise TaskError("task run_id and uri must be non-empty strings")
        if not (isinstance(task.shard, int) and isinstance(task.rows, int) and task.shard >= 0 and task.rows >= 0):
            raise TaskError("task shard and rows must be non-negative integers")
        return task


# A maker of the google-cloud-storage client (``Clients.storage``).
StorageClient = Callable[[], Any]


class ShardStore:
    """Writes and reads shard files under a base URL."""

    def __init__(self, base_url: str, storage: StorageClient | None = None) -> None:
        parsed = urlparse(base_url)
        self.scheme = parsed.scheme if len(parsed.scheme) > 1 else "file"  # "C:" is not a scheme
        if self.scheme not in ("file", "gs"):
            raise ValueError(f"shard location {base_url!r}: use a path, file:// or gs://")
        self.base_url = base_url.rstrip("/")
        self._storage = storage

    def url(self, run_id: str, index: int) -> str:
        if self.scheme == "gs":
            return f"{self.base_url}/{run_id}/{shard_name(index)}"
        return (_local_path(self.base_url) / run_id / shard_name(index)).resolve().as_uri()

    def write(self, run_id: str, shards: Mapping[int, list[Mapping]]) -> dict[int, str]:
        """Writes each non-empty shard; returns index -> URL."""
        urls = {}
        for index, rows in sorted(shards.items()):
            if not rows:
                continue
            body = "".join(json.dumps(dict(row), ensure_ascii=False, default=str) + "\n" for row in rows)
            url = self.url(run_id, index)
            _write_text(url, body, self._storage)
            urls[index] = url
        return urls


def read_rows(url: str, storage: StorageClient | None = None) -> list[dict]:
    """The rows of a shard; TaskError if it is not there (it never will be)."""
    try:
        body = _read_text(url, storage)
    except FileNotFoundError:
        raise TaskError(f"shard {url} does not exist") from None
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def partition(rows: Iterable[Mapping], shards: int) -> dict[int, list[Mapping]]:
    parts: dict[int, list[Mapping]] = {i: [] for i in range(shards)}
    for row in rows:
        parts[shard_of(row["keyword"], shards)].append(row)
    return parts


def _local_path(url: str) -> Path:
    parsed = urlparse(url)
    return Path(parsed.path) if parsed.scheme == "file" else Path(url)


def _write_text(url: str, body: str, storage: StorageClient | None) -> None:
    if url.startswith("gs://"):
        _gcs_blob(url, storage).upload_from_string(body, content_type="application/x-ndjson")
        return
    path = _local_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".partial")
    temporary.write_text(body, encoding="utf-8")
    temporary.replace(path)  # a reader never sees half a shard


def _read_text(url: str, storage: StorageClient | None) -> str:
    if url.startswith("gs://"):
        from google.api_core.exceptions import NotFound

        try:
            return _gcs_blob(url, storage).download_as_text(encoding="utf-8")
        except NotFound:
            raise FileNotFoundError(url) from None
    return _local_path(url).read_text(encoding="utf-8")


def _gcs_blob(url: str, storage: StorageClient | None):
    if storage is None:
        raise ValueError(f"shard {url}: a gs:// shard needs a Cloud Storage client (Clients.storage)")
    parsed = urlparse(url)
    return storage().bucket(parsed.netloc).blob(parsed.path.lstrip("/"))

