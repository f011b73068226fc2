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

from shared import config, faults, logs, text
from shared.auth import Authenticator, warn_if_off
from shared.clients import Clients
from shared.config import Settings
from shared.errors import ApiError
from shared.events import FeedbackEvent, ReplyEvent, SelectionLog, UtteranceEvent
from shared.http import Route, serve
from shared.ingress import IngressService
from shared.line_channel import MAX_BODY_BYTES as LINE_MAX_BODY_BYTES, LineChannel, LineEvents
from shared.log_sink import LogSinkService
from shared.messaging.publish import Publisher
from shared.messaging.push import PushByTopic, PushHandler
from shared.ranking import RANKERS, RankerRegistry
from shared.replies import REPLY_PATHS, make_reply_store
from shared.reply_endpoint import ReplyReader
from shared.router import ModelGatedRouter, TtlFlag, WeightedRouter, without
from shared.scorer import REPEAT_WINDOW_TURNS, ScorerService
from shared.idempotency import Idempotency
from shared.stores import (
    CandidateStore, ConversationStore, DecisionStore, DeliveryAttempts, IdempotencyKeys, OwnerCache, RouterStatsStore,
    SignatureLedger, model_pointer_reader,
)

T = TypeVar("T")
# Algorithms that answer only once training has published a model.
NEEDS_MODEL = frozenset({"dual_encoder"})


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
    router = make_router(settings, clients, known=rankers.names())
    service = IngressService(
        settings, router, Publisher(clients.publisher, settings.project),
        answered_user=DecisionStore(clients.firestore).answered_user,
        conversation_owner=OwnerCache(ConversationStore(clients.firestore).owner),
    )
    # The decision as the scorer stored it, who posted included (None until then).
    replies = ReplyReader(DecisionStore(clients.firestore).get)
    line = LineChannel(settings.line_channel_secret, service.accept_utterance, LineEvents(clients.firestore))
    authenticator = Authenticator(
        settings.auth_mode,
        settings.webhook_secret,
        lambda token: clients.verify_id_token(token),
        settings.webhook_tolerance_s,
        signatures=SignatureLedger(clients.firestore),
    )
    idempotent = Idempotency(IdempotencyKeys(clients.firestore)).run
    warn_if_off(settings.auth_mode)

    def retryable(handler):
        """A request that failed on our side (503) may be retried with its signature as it is."""

        def run(body, caller):
            try:
                return handler(body, caller)
            except ApiError as error:
                if error.status >= 500:
                    authenticator.forget(caller)
                raise

        return run

    routes = {
        ("POST", "/v1/utterances"): Route(
            retryable(service.accept_utterance), status=202, takes_json=True, authenticate=authenticator.check,
            idempotent=idempotent,
        ),
        ("POST", "/v1/feedback"): Route(
            retryable(service.accept_feedback), status=202, takes_json=True, authenticate=authenticator.check,
            idempotent=idempotent,
        ),
        # The caller who posted reads its reply (a GET signs its path and query).
        ("GET", "/v1/replies/{message_id}"): Route(retryable(replies.get), authenticate=authenticator.check),
        # LINE's webhook: signed with the channel secret, not our credentials.
        ("POST", "/v1/channels/line"): Route(line.handle, takes_raw=True, max_body_bytes=LINE_MAX_BODY_BYTES),
        ("GET", "/healthz"): Route(lambda: {"status": "ok"}),
    }

    def handle(request):
        # The caller's trace, or a new one: every utterance can be followed.
        with logs.trace(logs.from_headers(request.headers) or logs.new_trace()):
            return serve(request, routes, settings.cors_origins)

    return handle


def make_router(settings: Settings, clients: Clients, known):
    """``ROUTER=weighted`` (fixed weights) or ``thompson`` (bandit on router/stats),
    kept off the algorithms that need a model until one is published."""
    weights = WeightedRouter.from_spec(settings.algorithm_weights, known=known).weights
    if settings.router == "weighted":
        build = lambda w: WeightedRouter(w, settings.router_seed)  # noqa: E731
    elif settings.router == "thompson":
        from shared.bandit import ThompsonRouter

        stats = RouterStatsStore(clients.firestore, ttl_s=settings.router_stats_ttl_s)

        def build(w: dict[str, float]):
            router = ThompsonRouter(sorted(w), stats.get, min_propensity=settings.router_min_propensity, seed=settings.router_seed)
            router.propensities()  # read router/stats while building (the warm-up), not on the first request
            return router
    else:
        raise ValueError(f"ROUTER={settings.router!r} is not one of weighted, thompson")
    rest = without(weights, NEEDS_MODEL)
    if rest == weights or not rest:  # nothing needs a model, or nothing else is configured
        return build(weights)
    read_pointer = model_pointer_reader(clients.firestore)  # ingress carries no numpy: not dual_encoder's
    published = TtlFlag(lambda: read_pointer() is not None, settings.model_pointer_ttl_s)
    return ModelGatedRouter(build(weights), build(rest), published)


def published_model(settings: Settings, clients: Clients):
    """The model ``models/current`` names, loaded on first use and re-read once per TTL.

    Imports the model code (numpy, LiteRT's loader) while the scorer is built,
    in the warm-up, not on the first event."""
    from shared.ranking.encoder_model import loader
    from shared.ranking.model_pointer import ModelPointer

    load = loader(lambda: clients.storage)  # a gs:// store reads through this process's own client
    return ModelPointer(model_pointer_reader(clients.firestore), settings.model_pointer_ttl_s, load)


def serving_rankers(models) -> RankerRegistry:
    """Every ranker, the dual encoder serving ``models``."""
    from shared.ranking.dual_encoder import DualEncoderRanker

    return RankerRegistry({**RANKERS, "dual_encoder": lambda: DualEncoderRanker(models)})


def build_scorer_service(settings: Settings, clients: Clients) -> ScorerService:
    from shared.ranking.dual_encoder import MeaningRetriever

    text.warm_up()  # the Japanese dictionary, before the first event needs it
    db = clients.firestore
    # One published model serves both the dual_encoder ranker and the look-up by meaning.
    # Loaded on first use; while none is published, keyword candidates answer alone.
    models = published_model(settings, clients)
    return ScorerService(
        settings,
        ConversationStore(db, kept_turns=max(settings.context_turns, REPEAT_WINDOW_TURNS)),
        CandidateStore(db, ttl_s=settings.candidate_cache_ttl_s, max_keywords=settings.candidate_cache_size),
        DecisionStore(db),
        make_reply_store(settings.reply_store, clients),
        Publisher(clients.publisher, settings.project),
        serving_rankers(models),
        faults.from_settings(settings),
        MeaningRetriever(models),
    )


def pushed(function: str, topic: str, handle: Callable[[bytes], object], settings: Settings, clients: Clients) -> PushHandler:
    """``handle`` behind a push subscription on ``topic``: failures counted,
    poison and the last failure dead-lettered to the topic's dead-letter topic."""
    return PushHandler(
        function,
        handle,
        Publisher(clients.publisher, settings.project),
        settings.topics.dead_letter(topic),
        DeliveryAttempts(clients.firestore).failed,
        settings.max_delivery_attempts,
    )


def build_scorer(settings: Settings, clients: Clients) -> PushHandler:
    service = build_scorer_service(settings, clients)
    return pushed(
        "scorer", settings.topics.utterances, lambda data: service.handle(UtteranceEvent.from_json(data)), settings, clients
    )


def build_log_sink(settings: Settings, clients: Clients) -> PushByTopic:
    """Selection logs and feedback, each into its table, each with its dead-letter topic."""
    selections = LogSinkService(clients.bigquery, settings.selections_table_id, faults.from_settings(settings))
    feedback = LogSinkService(clients.bigquery, settings.feedback_table_id)
    topics = settings.topics
    return PushByTopic(
        {
            topics.selection_logs: pushed(
                "log_sink", topics.selection_logs, lambda data: selections.handle(SelectionLog.from_json(data)), settings, clients
            ),
            topics.feedback: pushed(
                "log_sink", topics.feedback, lambda data: feedback.handle(FeedbackEvent.from_json(data)), settings, clients
            ),
        },
        default=topics.selection_logs,
    )


def build_delivery(settings: Settings, clients: Clients) -> PushHandler:
    """Replies to deliver (topic ``replies``): callbacks signed with Standard Webhooks, LINE."""
    from shared import callbacks
    from shared.delivery import CallbackChannel, DeliveryLedger, DeliveryService
    from shared.line_sender import LineSender

    channels = {
        "callback": CallbackChannel(
            callbacks.CallbackPolicy(settings.callback_loopback_only), settings.callback_secret, settings.callback_timeout_s
        ),
        "line": LineSender(settings.line_channel_access_token, settings.line_api_url, settings.callback_timeout_s),
    }
    service = DeliveryService(DeliveryLedger(clients.firestore), channels, faults.from_settings(settings))
    return pushed(
        "delivery", settings.topics.replies, lambda data: service.handle(ReplyEvent.from_json(data)), settings, clients
    )
