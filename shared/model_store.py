"""The model store: checkpoints and published model versions, by key.

A local folder (``.run/models``, or ``file:///abs/path``) for the local stack
and tests, Cloud Storage (``gs://bucket/prefix``) in production. Keys are
``/``-separated paths below the store's root. Writes are atomic on both: a
reader never sees half a file (local: write then rename; GCS: object writes
are atomic).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Protocol


class ModelStore(Protocol):
    url: str

    def read(self, key: str) -> bytes: ...

    def write(self, key: str, data: bytes) -> None: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def child(self, prefix: str) -> "ModelStore": ...


class LocalStore:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents and path != self.root:
            raise ValueError(f"key {key!r} leaves the store")
        return path

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def child(self, prefix: str) -> "LocalStore":
        return LocalStore(self._path(prefix))


def default_storage_client():
    from google.cloud import storage

    return storage.Client()


class GcsStore:
    """Cloud Storage through the official client (``google-cloud-storage``,
    which firebase-admin already brings).

    ``make_client`` is called on the first read or write, not before: a
    process that never touches Cloud Storage never imports its client. The
    functions and the training jobs pass their ``Clients``' own; tools that
    only read (seeding, evaluation, benches, preflight) the library default."""

    def __init__(self, url: str, client=None, make_client: Callable[[], Any] = default_storage_client) -> None:
        bucket, _, prefix = url.removeprefix("gs://").partition("/")
        self.url = url.rstrip("/")
        self._bucket_name = bucket
        self._prefix = prefix.strip("/")
        self._client = client
        self._make_client = make_client

    def _blob(self, key: str):
        if self._client is None:
            self._client = self._make_client()
        name = f"{self._prefix}/{key}" if self._prefix else key
        return self._client.bucket(self._bucket_name).blob(name)

    def read(self, key: str) -> bytes:
        return self._blob(key).download_as_bytes()

    def write(self, key: str, data: bytes) -> None:
        self._blob(key).upload_from_string(data)

    def exists(self, key: str) -> bool:
        return self._blob(key).exists()

    def delete(self, key: str) -> None:
        from google.api_core.exceptions import NotFound

        try:
            self._blob(key).delete()
        except NotFound:
            pass

    def child(self, prefix: str) -> "GcsStore":
        return GcsStore(f"{self.url}/{prefix.strip('/')}", self._client, self._make_client)


def open_store(url: str, make_storage_client: Callable[[], Any] = default_storage_client) -> ModelStore:
    """The store at ``url``: ``gs://bucket/prefix``, else a local folder
    (``file://`` or a path). ``make_storage_client`` makes the Cloud Storage
    client when a ``gs://`` store is first used."""
    if url.startswith("gs://"):
        return GcsStore(url, make_client=make_storage_client)
    return LocalStore(url.removeprefix("file://"))
