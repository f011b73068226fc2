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
        self._lock = threading.Lock()
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
    def publisher(self):
        def make():
            from google.cloud import pubsub_v1

            return pubsub_v1.PublisherClient(
                # One message per batch: ingress waits for each publish, and the
                # default 10 ms batching window would cap it near 65 msg/s.
                batch_settings=pubsub_v1.types.BatchSettings(max_messages=1),
                publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True),
            )

        return self._once("publisher", make)

    @property
    def bigquery(self):
        def make():
            from google.cloud import bigquery

            if self.settings.bigquery_emulator_host:
                from google.auth.credentials import AnonymousCredentials

                return bigquery.Client(
                    project=self.settings.project,
                    credentials=AnonymousCredentials(),
                    client_options={"api_endpoint": f"http://{self.settings.bigquery_emulator_host}"},
                )
            return bigquery.Client(project=self.settings.project)

        return self._once("bigquery", make)
