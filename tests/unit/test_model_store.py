"""The model store's local folder flavour (gs:// is the same interface)."""

from __future__ import annotations

import pytest

from shared.model_store import GcsStore, LocalStore, open_store


def test_written_bytes_read_back_and_children_share_the_folder(tmp_path):
    store = LocalStore(tmp_path)
    store.child("versions/v1").write("manifest.json", b"{}")
    assert store.read("versions/v1/manifest.json") == b"{}"
    assert store.exists("versions/v1/manifest.json")
    store.delete("versions/v1/manifest.json")
    store.delete("versions/v1/manifest.json")  # deleting twice is fine
    assert not store.exists("versions/v1/manifest.json")


def test_a_write_leaves_no_temporary_files(tmp_path):
    LocalStore(tmp_path).write("a/b.bin", b"x" * 10)
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.bin"]


def test_a_key_cannot_leave_the_store(tmp_path):
    with pytest.raises(ValueError):
        LocalStore(tmp_path / "store").read("../secret")


@pytest.mark.parametrize("url, kind", [("gs://bucket/models", GcsStore), (".run/models", LocalStore), ("file:///tmp/m", LocalStore)])
def test_the_url_picks_the_store(url, kind):
    assert isinstance(open_store(url), kind)


def test_a_gcs_child_is_a_longer_prefix():
    assert GcsStore("gs://bucket/models").child("versions/v1").url == "gs://bucket/models/versions/v1"


def test_a_gcs_store_makes_its_client_on_first_use_with_the_given_maker_and_its_children_share_it():
    made = []

    class FakeClient:
        def bucket(self, name):
            return self

        def blob(self, name):
            return type("Blob", (), {"download_as_bytes": lambda self: name.encode()})()

    def make():
        made.append(FakeClient())
        return made[-1]

    store = open_store("gs://bucket/models", make)
    child = store.child("versions/v1")
    assert made == []  # nothing made until a read
    assert child.read("manifest.json") == b"models/versions/v1/manifest.json"
    assert store.read("LATEST") == b"models/LATEST" and len(made) == 2  # the parent was not yet used: its own
    assert child.read("x") and len(made) == 2
