"""Which published model to serve: ``models/current`` in Firestore names the
version. ``ModelPointer`` re-reads it at most once per TTL; a new version
loads in the background while the old one keeps serving, and replaces it only
once it is loaded.

It holds whatever ``load(uri)`` returns (``encoder_model.loader``'s
in the scorer) and imports no numpy: loading is the injected function's.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Protocol

log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """No model is published yet (or it cannot be loaded): a retryable failure."""


class Model(Protocol):
    version: str


class ModelPointer:
    """The version named by ``models/current``, re-read at most once per TTL.

    ``read_pointer()`` returns the pointer document (``{"version", "uri"}``) or
    None. The first load happens in the caller (there is nothing to serve
    before it); later versions load in a background thread while the current
    model keeps answering.
    """

    def __init__(
        self,
        read_pointer: Callable[[], dict | None],
        ttl_s: float,
        load: Callable[[str], Model],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read_pointer = read_pointer
        self._ttl_s = ttl_s
        self._load = load
        self._clock = clock
        self._model: Model | None = None
        self._checked_at: float | None = None
        self._loading: str | None = None
        self._lock = threading.Lock()

    def current(self) -> Model:
        now = self._clock()
        if self._model is None:
            with self._lock:
                if self._model is None:
                    # Nothing published: asked again only once per TTL, not per request.
                    if self._checked_at is not None and now - self._checked_at < self._ttl_s:
                        raise ModelUnavailable("no model published: models/current is missing")
                    pointer = self._read_pointer()
                    self._checked_at = now
                    if not pointer:
                        raise ModelUnavailable("no model published: models/current is missing")
                    self._model = self._load_logged(pointer)
            return self._model
        if self._checked_at is None or now - self._checked_at >= self._ttl_s:
            self._checked_at = now
            threading.Thread(target=self._refresh, name="model-refresh", daemon=True).start()
        return self._model

    def _refresh(self) -> None:
        try:
            pointer = self._read_pointer()
        except Exception:
            log.exception("reading models/current failed; serving %s", self._model.version)
            return
        with self._lock:
            if not pointer or pointer.get("version") in (self._model.version, self._loading):
                return  # unchanged, or already loading in another thread
            self._loading = pointer["version"]
        try:
            self._model = self._load_logged(pointer)  # one reference swap: requests see old or new, whole
        except Exception:  # keep serving the old version; the next TTL retries
            log.exception("loading the new model version failed")
        finally:
            self._loading = None

    def _load_logged(self, pointer: dict) -> Model:
        started = time.perf_counter()
        try:
            model = self._load(pointer["uri"])
        except Exception as error:
            raise ModelUnavailable(f"cannot load model {pointer.get('version')!r} from {pointer.get('uri')!r}: {error}") from error
        log.info("model %s loaded in %.0f ms", model.version, (time.perf_counter() - started) * 1000)
        return model
