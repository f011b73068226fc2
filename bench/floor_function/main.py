"""bench floor: the least a push-triggered function can do.

Started by ``bench/e2e_latency.py`` behind a push subscription on
``bench-floor``. Each event writes one document, at the path the message data
names: the benchmark's listener times publish -> visible document, which is the
platform's floor under the system's latency.
"""

import base64
import threading

import functions_framework

_lock = threading.Lock()
_clients = []


def _firestore():
    # Created on first use, not at import: functions-framework imports this
    # module before gunicorn forks its worker, and gRPC channels must not
    # cross a fork. FIRESTORE_EMULATOR_HOST points the client at the emulator.
    with _lock:
        if not _clients:
            from google.cloud import firestore

            _clients.append(firestore.Client())
        return _clients[0]


@functions_framework.cloud_event
def floor(cloud_event):
    path = base64.b64decode(cloud_event.data["message"]["data"]).decode()
    _firestore().document(path).set({"written": True})
