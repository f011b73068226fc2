"""jobs.seed on the emulators: a restarted stack gets its trained model back."""

from __future__ import annotations

from jobs import seed
from shared.model_store import LocalStore


def test_a_fresh_database_points_at_the_stores_latest_version_and_a_named_one_is_kept(clients, tmp_path):
    pointer = clients.firestore.collection("models").document("current")
    before = pointer.get().to_dict()
    store = LocalStore(tmp_path / "models")
    store.child("versions/v2").write("manifest.json", b'{"version": "v2"}')
    store.write("LATEST", b"v2")
    try:
        pointer.delete()
        assert seed.restore_model_pointer(clients.firestore, store.url) == "v2"
        restored = pointer.get().to_dict()
        assert (restored["version"], restored["uri"]) == ("v2", store.child("versions/v2").url)
        assert seed.restore_model_pointer(clients.firestore, store.url) is None  # one is named: left as it is
        pointer.delete()
        assert seed.restore_model_pointer(clients.firestore, str(tmp_path / "empty")) is None  # nothing trained
        assert not pointer.get().exists
    finally:
        if before is None:
            pointer.delete()
        else:
            pointer.set(before)
