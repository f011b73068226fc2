"""The target of the RTDB conformance suite.

By default a local ``infra.local.rtdb_server`` runs in this process on a free
port. Set ``RTDB_CONFORMANCE_URL`` to a real database URL
(``https://NAME.firebaseio.com``, credentials from Application Default
Credentials) to run the same tests against Firebase; every test writes only
under its own ``/conformance/<random>`` node and deletes it afterwards.
"""

from __future__ import annotations

import os
import threading
import uuid

import firebase_admin
import google.auth.credentials
import pytest
from firebase_admin import credentials, db


class _Anonymous(credentials.Base):
    def get_credential(self):
        return google.auth.credentials.AnonymousCredentials()


@pytest.fixture(scope="session")
def database_url():
    real = os.environ.get("RTDB_CONFORMANCE_URL")
    if real:
        yield real
        return
    from infra.local.rtdb_server import Server

    server = Server(("127.0.0.1", 0), keepalive_s=0.5)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}?ns=conformance-{uuid.uuid4().hex[:8]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def app(database_url):
    real = bool(os.environ.get("RTDB_CONFORMANCE_URL"))
    credential = credentials.ApplicationDefault() if real else _Anonymous()
    app = firebase_admin.initialize_app(credential, {"databaseURL": database_url}, name=f"conformance-{uuid.uuid4().hex}")
    yield app
    firebase_admin.delete_app(app)


@pytest.fixture
def ref(app):
    """A fresh node of this test's own, removed afterwards."""
    node = db.reference(f"/conformance/{uuid.uuid4().hex[:12]}", app=app)
    yield node
    node.delete()
