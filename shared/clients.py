"""Google Cloud clients, created lazily and once per process.

Nothing connects at import time (functions-framework forks its workers after
import, and gRPC channels must not cross a fork). Tests build their own
``Clients`` pointed at the emulators and pass it in. The official clients read
``PUBSUB_EMULATOR_HOST`` and ``FIRESTORE_EMULATOR_HOST`` themselves; BigQuery
has no standard emulator variable, so ``BIGQUERY_EMULATOR_HOST`` is applied here.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from shared.config import Settings


class Clients:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()  # one client may be made from another (rtdb from firebase_app)
        self._made: dict[str, Any] = {}

    def _once(self, name: str, make: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._made:
                self._made[name] = make()
            return self._made[name]

    @property
    def firestore(self):
        def make():
            from google.cloud import firestore

            return firestore.Client(project=self.settings.project)

        return self._once("firestore", make)

    @property
    def firebase_app(self):
        """A firebase_admin app of this process's own (not the global default).

        Against emulators (``FIREBASE_DATABASE_EMULATOR_HOST`` or
        ``FIREBASE_AUTH_EMULATOR_HOST`` set) firebase_admin still wants a
        credential object: an anonymous one is enough there. In production the
        app uses Application Default Credentials."""

        def make():
            import os
            import uuid

            import firebase_admin
            from firebase_admin import credentials

            emulated = any(os.environ.get(v) for v in ("FIREBASE_DATABASE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST"))
            credential = AnonymousCredential() if emulated else credentials.ApplicationDefault()
            return firebase_admin.initialize_app(
                credential,
                {"databaseURL": self.settings.database_url, "projectId": self.settings.project},
                name=f"zatsudan-{uuid.uuid4().hex[:8]}",
            )

        return self._once("firebase_app", make)

    @property
    def rtdb(self):
        """The Realtime Database root reference (``firebase_admin.db``)."""

        def make():
            from firebase_admin import db

            return db.reference("/", app=self.firebase_app)

        return self._once("rtdb", make)

    def verify_id_token(self, token: str) -> dict:
        """Claims of a Firebase ID token (``uid`` included), or an exception.

        With ``FIREBASE_AUTH_EMULATOR_HOST`` set, firebase_admin accepts the
        emulator's unsigned tokens (it still checks audience and issuer).
        ``CHECK_REVOKED`` also refuses tokens of disabled or signed-out users."""
        from firebase_admin import auth

        return auth.verify_id_token(token, app=self.firebase_app, check_revoked=self.settings.check_revoked)

    @property
    def publisher(self):
        def make():
            from google.cloud import pubsub_v1

            # The functions publish through its GAPIC layer (``.api``, see
            # shared/messaging/publish.py Publisher); these settings serve direct users
            # of the batching client (tests, jobs).
            return pubsub_v1.PublisherClient(
                # One message per batch: a caller waiting for each publish would
                # otherwise wait out the default 10 ms batching window.
                batch_settings=pubsub_v1.types.BatchSettings(max_messages=1),
                publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True),
            )

        return self._once("publisher", make)

    @property
    def task_publisher(self):
        """Many messages at once (a run's shard tasks): the library's default
        batching, up to 100 messages a request, in the order published."""
        return self._once("task_publisher", lambda: _pubsub().PublisherClient())

    @property
    def subscriber(self):
        """Pub/Sub pulls for the batch workers' task queues (leases)."""
        return self._once("subscriber", lambda: _pubsub().SubscriberClient())

    @property
    def storage(self):
        """Cloud Storage (model stores and corpus shards at ``gs://``): no
        project needed to read a bucket's objects."""

        def make():
            from google.cloud import storage

            return storage.Client()

        return self._once("storage", make)

    @property
    def bigquery(self):
        def make():
            from google.cloud import bigquery

            if self.settings.bigquery_emulator_host:
                from google.auth.credentials import AnonymousCredentials

                client = bigquery.Client(
                    project=self.settings.project,
                    credentials=AnonymousCredentials(),
                    client_options={"api_endpoint": f"http://{self.settings.bigquery_emulator_host}"},
                )
            else:
                client = bigquery.Client(project=self.settings.project)
            skip_proxy_lookups(client._http)
            return client

        return self._once("bigquery", make)


def _pubsub():
    """The Pub/Sub library, imported by the first client that needs it."""
    from google.cloud import pubsub_v1

    return pubsub_v1


def skip_proxy_lookups(session) -> None:
    """Stops a requests session reading the whole environment on every call.

    With ``trust_env`` on, requests looks for proxy variables in os.environ
    per request (about 0.5 ms of CPU per BigQuery insert, a quarter of the
    log sink's work). Where no proxy is configured there is nothing to find,
    so the lookup is turned off; where one is, it stays on (no_proxy included).
    """
    import urllib.request

    if not urllib.request.getproxies():
        session.trust_env = False


def AnonymousCredential():
    """A firebase_admin credential whose Google credential is anonymous (emulators only)."""
    import google.auth.credentials
    from firebase_admin import credentials

    class _Anonymous(credentials.Base):
        def get_credential(self):
            return google.auth.credentials.AnonymousCredentials()

    return _Anonymous()
