"""Composition root: builds each function's service from settings and clients.

Entry points call ``lazy(build_x)`` at import and the built object on each
request: nothing connects until the first request, and tests call the
``build_*`` functions with their own emulator-backed ``Clients``.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Callable, TypeVar

from shared import config, logs, text
from shared.auth import Authenticator, warn_if_off
from shared.clients import Clients
from shared.config import Settings
from shared.events import SelectionLog, UtteranceEvent
from shared.http import Route, serve
from shared.ingress import IngressService
from shared.log_sink import LogSinkService
from shared.pubsub import Publisher
from shared.push import PushHandler
from shared.ranking import RankerRegistry
from shared.replies import REPLY_PATHS, make_reply_store
from shared.router import WeightedRouter
from shared.scorer import ScorerService
from shared.stores import CandidateStore, ConversationStore, DecisionStore, SinkLedger

T = TypeVar("T")


def lazy(build: Callable[[Settings, Clients], T]) -> Callable[[], T]:
    """Build once, on first call, from the environment's settings.

    functions-framework imports the function, then gunicorn forks the worker
    that serves it. Clients must be made after that fork (gRPC channels do not
    survive one), so the build starts in a thread as soon as a child process
    begins: the first request finds it done, or waits for it, instead of
    paying for it alone.
    """
    lock = threading.Lock()
    built: list[T] = []

    def get() -> T:
        if not built:
            with lock:
                if not built:
                    settings = config.load()
                    logs.setup(settings.project)
                    built.append(build(settings, Clients(settings)))
        return built[0]

    def warm_up() -> None:
        try:
            get()
        except Exception:  # the first request will raise it again, with context
            logging.getLogger(__name__).exception("warm-up failed")

    os.register_at_fork(after_in_child=lambda: threading.Thread(target=warm_up, name="warm-up", daemon=True).start())
    return get


def build_ingress(settings: Settings, clients: Clients) -> Callable:
    if settings.reply_store not in REPLY_PATHS:
        raise ValueError(f"REPLY_STORE={settings.reply_store!r} is not one of {sorted(REPLY_PATHS)}")
    rankers = RankerRegistry()
    router = WeightedRouter.from_spec(settings.algorithm_weights, settings.router_seed, known=rankers.names())
    service = IngressService(settings, router, Publisher(clients.publisher, settings.project))
    authenticator = Authenticator(
        settings.auth_mode,
        settings.webhook_secret,
        lambda token: clients.verify_id_token(token),
        settings.webhook_tolerance_s,
    )
    warn_if_off(settings.auth_mode)
    routes = {
        ("POST", "/v1/utterances"): Route(
            service.accept_utterance, status=202, takes_json=True, authenticate=authenticator.check
        ),
        ("GET", "/healthz"): Route(lambda: {"status": "ok"}),
    }
    return lambda request: serve(request, routes, settings.cors_origins)


def build_scorer_service(settings: Settings, clients: Clients) -> ScorerService:
    text.warm_up()  # the Japanese dictionary, before the first event needs it
    db = clients.firestore
    return ScorerService(
        settings,
        db,
        ConversationStore(db),
        CandidateStore(db, ttl_s=settings.candidate_cache_ttl_s, max_keywords=settings.candidate_cache_size),
        DecisionStore(db),
        make_reply_store(settings.reply_store, clients),
        Publisher(clients.publisher, settings.project),
        RankerRegistry(),
    )


def build_scorer(settings: Settings, clients: Clients) -> PushHandler:
    service = build_scorer_service(settings, clients)
    return PushHandler(
        "scorer",
        lambda data: service.handle(UtteranceEvent.from_json(data)),
        Publisher(clients.publisher, settings.project),
        settings.topics.dead_letter(settings.topics.utterances),
    )


def build_log_sink(settings: Settings, clients: Clients) -> PushHandler:
    service = LogSinkService(clients.bigquery, settings.selections_table_id, SinkLedger(clients.firestore))
    return PushHandler(
        "log_sink",
        lambda data: service.handle(SelectionLog.from_json(data)),
        Publisher(clients.publisher, settings.project),
        settings.topics.dead_letter(settings.topics.selection_logs),
    )
