"""The shopdesk web app: `/ws` chat, `/healthz` and `/readyz`, `/metrics`, the admin conversations API, actions REST, widget
pages and the staff console.

`build_app` is the composition root: it builds every part once, holds them in one typed `AppState`
and hands that to the routes. The lifespan starts what runs in the background (knowledge watcher,
webhook sender) and stops it again. Whatever the caller passes in (a shared knowledge base,
registry, services) the caller owns; whatever the app builds itself it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import BaseRoute, WebSocketRoute

from actions import load_registry
from actions.api import api_routes
from actions.email.codes import OutboxCodeSender
from actions.registry import ActionRegistry
from actions.services import ActionServices
from agent.app.admin import admin_routes
from agent.app.health import health_routes
from agent.app.input_guard import InputGuard, server_error
from agent.app.knowledge_sync import open_knowledge, start_knowledge_sync
from agent.app.metrics import MeteredModel, Metrics, metrics_routes
from agent.app.openapi import openapi_routes
from agent.app.services import open_services
from agent.app.settings import Settings
from agent.app.state import AppState, ShopdeskApp
from agent.chat import uploads
from agent.chat.bus import open_bus
from agent.chat.endpoint import chat_endpoint
from agent.chat.limits import Throttle
from agent.chat.model_budget import BudgetedModel
from agent.chat.notices import (
    LiveShopperNotifier,
    RoutedShopperNotifier,
    ShopperNotifier,
    watch_returns,
)
from agent.chat.replicas import Replicas
from agent.chat.sessions import SessionManager
from agent.chat.turn_locks import open_turn_locks
from agent.chat.verification_setup import identity_gate
from agent.console import app as console
from agent.console.inbox import Inbox
from agent.console.staff import StaffAuth
from agent.models import OFFLINE_MODEL, Model, model_for
from agent.portal import routes as portal
from agent.store.conversations import ConversationStore
from agent.turn.deps import AgentDeps, NoKnowledge
from knowledge import KnowledgeBase
from knowledge.queries import query_encoder
from knowledge.watch import Watcher
from widget import pages

log = logging.getLogger("shopdesk.server")


def build_app(
    settings: Settings,
    *,
    kb: KnowledgeBase | None = None,
    registry: ActionRegistry | None = None,
    services: ActionServices | None = None,
    conversations: ConversationStore | None = None,
    model: Model | None = None,
) -> ShopdeskApp:
    """The app for `settings`. Building is cheap and synchronous (the database is migrated here);
    indexing the knowledge base and starting background work happen in the lifespan."""
    settings.data.mkdir(parents=True, exist_ok=True)
    own_services = services is None
    own_conversations = conversations is None
    if conversations is None:
        conversations = ConversationStore(settings.resolved_database_url, clock=settings.clock)
        conversations.migrate()
    state = _state(
        settings,
        kb=kb,
        registry=registry if registry is not None else load_registry(settings.actions),
        services=services if services is not None else open_services(settings),
        conversations=conversations,
        # the offline model routes paraphrased requests by meaning with the knowledge base's
        # query encoder (cached; ONNX once the server has warmed it up)
        model=model if model is not None else model_for(settings, encoder=query_encoder()),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with _running(state, own_services=own_services, own_store=own_conversations):
            yield

    app = ShopdeskApp(state, _routes(state), lifespan)
    # Bodies are bounded, depth-checked and normalised before any route reads them; anything a
    # handler did not expect is a JSON error in words, not a traceback.
    app.add_middleware(InputGuard, larger={uploads.UPLOAD_PREFIX: uploads.UPLOAD_BODY_BYTES})
    app.add_exception_handler(Exception, server_error)
    return app


def _state(
    settings: Settings,
    *,
    kb: KnowledgeBase | None,
    registry: ActionRegistry,
    services: ActionServices,
    conversations: ConversationStore,
    model: Model,
) -> AppState:
    throttle = Throttle.from_settings(settings)
    metrics = Metrics(registry.names())
    deps = AgentDeps(
        settings=settings,
        kb=kb if kb is not None else NoKnowledge(),
        registry=registry,
        services=services,
        # The global budget of model calls; calls that reach the model are timed and counted.
        model=BudgetedModel(MeteredModel(model, metrics, settings.model), throttle),
        observer=metrics,
    )
    # SHOPDESK_REDIS_URL: events, turn locks and answers shared with the other replicas.
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    bus = open_bus(redis_url, settings.redis_prefix)
    locks = open_turn_locks(
        redis_url, settings.redis_prefix, settings.turn_lease_seconds, bus.replica
    )
    replicas = Replicas(bus, locks, lease_seconds=settings.turn_lease_seconds)
    # Handoffs go to the inbox, and a conversation a person owns gets no AI turn.
    inbox = Inbox(conversations, services, settings, bus=bus)
    sessions = SessionManager(
        conversations, deps, grace_seconds=settings.idle_timeout, inbox=inbox, replicas=replicas
    )
    # Codes go out through the email outbox (an .eml file in the embedded default, or SMTP).
    sender = (
        OutboxCodeSender(services.email, valid_minutes=round(settings.verification_code_minutes))
        if services.email is not None
        else None
    )
    services.identity_gate, sessions.codes = identity_gate(
        settings, throttle, conversations, inbox, sender
    )
    staff_auth = StaffAuth(
        settings.staff_password, store=conversations.staff_sessions, clock=settings.clock,
        lifetime=settings.staff_session_hours * 3600,
    )  # fmt: skip
    return AppState(
        settings=settings,
        kb=kb,
        registry=registry,
        services=services,
        deps=deps,
        conversations=conversations,
        sessions=sessions,
        throttle=throttle,
        inbox=inbox,
        staff_auth=staff_auth,
        metrics=metrics,
        bus=bus,
    )


def _routes(state: AppState) -> list[BaseRoute]:
    assert state.metrics is not None
    return [
        WebSocketRoute("/ws", chat_endpoint(state)),
        *health_routes(state),
        *metrics_routes(state, state.metrics),
        *openapi_routes(state),
        *admin_routes(state),
        *api_routes(state.services, state.registry, state.settings.admin_token),
        *pages.routes(state.settings),
        *console.routes(state),
        *portal.routes(state),
        *uploads.upload_routes(state, state.services.evidence),
    ]


@contextlib.asynccontextmanager
async def _running(state: AppState, *, own_services: bool, own_store: bool) -> AsyncIterator[None]:
    """Start-up (knowledge index and watcher, model warm-up, orders, services) and shut-down."""
    settings, services = state.settings, state.services
    watcher: Watcher | None = None
    if state.kb is None:
        state.kb, watcher = await asyncio.to_thread(_open_knowledge, settings)
    state.deps.kb = state.kb
    # Replicas on one Chroma server load each other's knowledge edits (agent/app/knowledge_sync).
    sync = await start_knowledge_sync(state.kb, settings)
    if settings.model != OFFLINE_MODEL:
        # litellm imports ~2 s of modules on its first call; pay that now, not in a shopper's
        # turn. (The offline model needs no litellm at all.)
        from agent.models.litellm import warm_up

        await warm_up()
    if own_services:
        await asyncio.to_thread(_import_orders, services, settings.orders)
        await services.start()
    await state.bus.start()  # hearing the other replicas before serving anyone
    # Decisions on returns (console, REST, refunds) reach every open widget of the shopper.
    notifier: ShopperNotifier = LiveShopperNotifier(
        state.sessions, services, state.inbox.data.latest_for
    )
    if state.bus.distributed:  # ... on whichever replica it is open
        notifier = RoutedShopperNotifier(notifier, state.bus, services.workflow)
    unwatch = watch_returns(services.workflow, notifier, asyncio.get_running_loop())
    state.ready = True
    try:
        yield
    finally:
        state.ready = False
        unwatch()
        await state.sessions.shutdown()
        await state.bus.stop()
        await state.sessions.replicas.locks.close()
        if own_services:
            with contextlib.suppress(Exception):
                await services.stop()
            services.close()
        if watcher is not None:
            watcher.stop()
        if sync is not None:
            await sync.stop()
        if own_store:
            state.conversations.close()


def _open_knowledge(settings: Settings) -> tuple[KnowledgeBase, Watcher]:
    kb = open_knowledge(settings)
    report = kb.index()
    log.info("knowledge index: %s", report)
    return kb, kb.start_watching()


def _import_orders(services: ActionServices, orders: Path | None) -> None:
    if orders is None or not Path(orders).exists():
        return
    if services.store.is_empty():
        report = services.store.import_file(Path(orders))
        log.info("imported orders from %s: %s", orders, report)


__all__ = ["build_app"]
