"""The shopdesk web app: `/ws` chat, `/healthz`, the admin conversations API, actions REST, widget pages.

`build_app` wires the parts; the lifespan starts what runs in the background (knowledge watcher, webhook
sender) and stops it again. Whatever the caller passes in (a shared knowledge base, registry, services)
the caller owns; whatever the app builds itself it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute

from agent.app.settings import Settings
from agent.chat.endpoint import chat_endpoint
from agent.chat.limits import RateLimiter
from agent.chat.sessions import SessionManager
from agent.models import OFFLINE_MODEL, Model, model_for
from agent.store.conversations import STATUSES, ConversationStore
from agent.turn.deps import AgentDeps, NoKnowledge

log = logging.getLogger("shopdesk.server")


def public_url(settings: Settings) -> str:
    """Base URL for links the server hands out (labels). A wildcard bind address is not a place a
    browser can go, so it becomes localhost. (Behind a proxy this needs a `public_url` setting.)"""
    host = "localhost" if settings.host in {"0.0.0.0", "::", ""} else settings.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def build_app(
    settings: Settings,
    *,
    kb: Any = None,
    registry: Any = None,
    services: Any = None,
    conversations: ConversationStore | None = None,
    model: Model | None = None,
) -> Starlette:
    """The app for `settings`. Building is cheap and synchronous (the database is migrated here);
    indexing the knowledge base and starting background work happen in the lifespan."""
    settings.data.mkdir(parents=True, exist_ok=True)
    own_services = services is None
    if services is None:
        from actions.services import build_services

        services = build_services(
            data_dir=settings.data,
            database_url=settings.resolved_database_url,
            policy_path=settings.policy,
            public_url=public_url(settings),
            clock=settings.clock,
        )
    if registry is None:
        from actions import load_registry

        registry = load_registry(settings.actions)
    own_conversations = conversations is None
    if conversations is None:
        conversations = ConversationStore(settings.resolved_database_url, clock=settings.clock)
        conversations.migrate()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = app.state
        watcher = None
        if state.kb is None:
            state.kb, watcher = await asyncio.to_thread(_open_knowledge, settings)
        state.deps.kb = state.kb
        if model is None and settings.model != OFFLINE_MODEL:
            # litellm imports ~2 s of modules on its first call; pay that now, not in a shopper's
            # turn. (The offline model needs no litellm at all.)
            from agent.models.litellm import warm_up

            await warm_up()
        if own_services:
            await asyncio.to_thread(_import_orders, services, settings.orders)
            await services.start()
        state.ready = True
        try:
            yield
        finally:
            state.ready = False
            await state.sessions.shutdown()
            if own_services:
                with contextlib.suppress(Exception):
                    await services.stop()
                services.close()
            if watcher is not None:
                watcher.stop()
            if own_conversations:
                conversations.close()

    routes: list[BaseRoute] = [
        WebSocketRoute("/ws", chat_endpoint),
        Route("/healthz", healthz),
        Route("/v1/conversations", list_conversations),
        Route("/v1/conversations/{conversation_id}", get_conversation),
    ]
    routes += _actions_routes(services, registry, settings.admin_token)
    routes += _widget_routes(settings)
    app = Starlette(routes=routes, lifespan=lifespan)

    deps = AgentDeps(
        settings=settings,
        kb=kb if kb is not None else NoKnowledge(),
        registry=registry,
        services=services,
        model=model if model is not None else model_for(settings),
    )
    state = app.state
    state.settings = settings
    state.kb = kb
    state.registry = registry
    state.services = services
    state.deps = deps
    state.conversations = conversations
    from agent.console.inbox import Inbox

    state.inbox = Inbox(conversations, services, settings)
    state.sessions = SessionManager(
        conversations, deps, grace_seconds=settings.idle_timeout, inbox=state.inbox
    )
    state.rate_limiter = RateLimiter(settings.messages_per_minute, 60.0)
    _mount_console(app, settings)
    state.ready = False
    return app


def _mount_console(app: Starlette, settings: Settings) -> None:
    """The staff console (/console): inbox, handoffs that stop the AI, staff replies, returns."""
    from agent.console import app as console_api
    from agent.console.staff import StaffAuth

    state = app.state
    state.staff_auth = StaffAuth(
        settings.staff_password, clock=settings.clock, lifetime=settings.staff_session_hours * 3600
    )
    app.router.routes.extend(console_api.routes(state, state.staff_auth, state.inbox))


def _open_knowledge(settings: Settings) -> tuple[Any, Any]:
    from knowledge import KnowledgeBase

    kb = KnowledgeBase(Path(settings.kb), Path(settings.data))
    report = kb.index()
    log.info("knowledge index: %s", report)
    return kb, kb.start_watching()


def _import_orders(services: Any, orders: Path | None) -> None:
    if orders is None or not Path(orders).exists():
        return
    if services.store.is_empty():
        report = services.store.import_file(Path(orders))
        log.info("imported orders from %s: %s", orders, report)


def _actions_routes(services: Any, registry: Any, admin_token: str) -> list[BaseRoute]:
    if importlib.util.find_spec("actions.api") is None:
        log.warning("actions.api is missing: no /v1/returns, /v1/actions or /labels routes")
        return []
    api = importlib.import_module("actions.api")
    return list(api.api_routes(services, registry, admin_token))


def _widget_routes(settings: Settings) -> list[BaseRoute]:
    if importlib.util.find_spec("widget.pages") is None:
        return []
    pages = importlib.import_module("widget.pages")
    return list(pages.routes(settings))


# HTTP handlers -----------------------------------------------------------------------------------
async def healthz(request: Request) -> JSONResponse:
    state = request.app.state
    body = {
        "status": "ok" if state.ready else "starting",
        "live_conversations": len(state.sessions.sessions),
    }
    return JSONResponse(body, status_code=200 if state.ready else 503)


def _authorized(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    expected = request.app.state.settings.admin_token
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode()
    )


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"error": "unauthorized", "message": "An admin bearer token is required."},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def _summary(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "status": record.status,
        "customer_email": record.customer_email,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "message_count": record.message_count,
    }


async def list_conversations(request: Request) -> JSONResponse:
    if not _authorized(request):
        return _unauthorized()
    try:
        limit = min(max(int(request.query_params.get("limit", 50)), 1), 500)
        offset = max(int(request.query_params.get("offset", 0)), 0)
        status = request.query_params.get("status") or None
        if status is not None and status not in STATUSES:
            raise ValueError(status)
    except ValueError:
        return JSONResponse(
            {
                "error": "invalid_query",
                "message": "limit and offset must be integers; status one of open, handoff, closed.",
            },
            status_code=400,
        )
    store: ConversationStore = request.app.state.conversations
    records = await store.acall(store.list_conversations, limit=limit, offset=offset, status=status)
    return JSONResponse(
        {"conversations": [_summary(r) for r in records], "limit": limit, "offset": offset}
    )


async def get_conversation(request: Request) -> JSONResponse:
    if not _authorized(request):
        return _unauthorized()
    store: ConversationStore = request.app.state.conversations
    conv_id = request.path_params["conversation_id"]
    record = await store.acall(store.get, conv_id)
    if record is None:
        return JSONResponse(
            {"error": "not_found", "message": "No such conversation."}, status_code=404
        )
    transcript = await store.acall(store.transcript, conv_id)
    pending = await store.acall(store.pending_confirmation, conv_id)
    body = _summary(record) | {
        "transcript": transcript,
        "pending_confirmation": None
        if pending is None
        else {
            "id": pending.id,
            "action": pending.action,
            "arguments": pending.arguments,
            "summary": pending.summary,
        },
    }
    return JSONResponse(body)


__all__ = ["build_app", "public_url"]
