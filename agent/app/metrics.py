"""Prometheus metrics at `/metrics`, behind the admin token or `SHOPDESK_METRICS_TOKEN`.

Each app has its own `CollectorRegistry`, so two apps in one process (tests, replicas in a
benchmark) never collide on a metric name and each counts only its own turns. Counters move as
things happen (turns and actions through the turn's observer, model calls through `MeteredModel`);
gauges of state (open sockets, outbox backlog) are read when scraped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from actions.auth import is_admin
from actions.store.models import EmailMessageRow, WebhookDeliveryRow
from actions.store.orders import OrderStore
from agent.app.state import AppState
from agent.models.base import Model, ModelError, ModelRequest, ModelTurn
from agent.turn.tools import HANDOFF_TOOL_NAME

# Seconds; a turn spans retrieval, model rounds and actions, a model call one round trip.
TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)
MODEL_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32)
UNKNOWN_ACTION = "(unknown)"  # the model's invented names would make a label without bound


def provider_of(model: str) -> str:
    """litellm's provider prefix ("openai/gpt-4o-mini" → "openai"); the name when it has none."""
    return (model.split("/", 1)[0] if "/" in model else model)[:60] or "unknown"


class Metrics:
    """The app's metrics; also the turn observer (`agent.turn.deps.TurnObserver`)."""

    def __init__(self, action_names: Iterable[str]) -> None:
        self.registry = r = CollectorRegistry()
        self.known_actions = {*action_names, HANDOFF_TOOL_NAME}
        self.turns = Counter("shopdesk_turns", "Turns run, by outcome", ["outcome"], registry=r)
        self.turn_seconds = Histogram(
            "shopdesk_turn_seconds", "Time of one turn", buckets=TURN_BUCKETS, registry=r
        )
        self.model_seconds = Histogram(
            "shopdesk_model_seconds",
            "Time of one model call, by provider",
            ["provider"],
            buckets=MODEL_BUCKETS,
            registry=r,
        )
        self.model_errors = Counter(
            "shopdesk_model_errors",
            "Model calls that failed, by provider",
            ["provider"],
            registry=r,
        )
        self.actions = Counter(
            "shopdesk_actions",
            "Actions run, by name and outcome",
            ["action", "outcome"],
            registry=r,
        )
        self.open_sockets = Gauge("shopdesk_open_sockets", "Chat sockets open", registry=r)
        self.outbox_backlog = Gauge(
            "shopdesk_outbox_backlog", "Deliveries waiting to be sent", ["outbox"], registry=r
        )

    def turn_finished(self, seconds: float, outcome: str) -> None:
        self.turns.labels(outcome).inc()
        self.turn_seconds.observe(seconds)

    def action_finished(self, name: str, outcome: str) -> None:
        label = name if name in self.known_actions else UNKNOWN_ACTION
        self.actions.labels(label, outcome[:60]).inc()

    async def refresh(self, state: AppState) -> None:
        """Read the gauges of state just before a scrape."""
        self.open_sockets.set(sum(len(s.sockets) for s in list(state.sessions.sessions.values())))
        webhooks, emails = await asyncio.to_thread(backlog, state.services.store)
        self.outbox_backlog.labels("webhooks").set(webhooks)
        self.outbox_backlog.labels("emails").set(emails)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def backlog(store: OrderStore) -> tuple[int, int]:
    """Webhook deliveries and emails still pending (due now or waiting for a retry)."""
    with store.reading() as s:
        webhooks = s.scalar(
            sa.select(sa.func.count()).where(WebhookDeliveryRow.status == "pending")
        )
        emails = s.scalar(sa.select(sa.func.count()).where(EmailMessageRow.status == "pending"))
    return int(webhooks or 0), int(emails or 0)


class MeteredModel:
    """A `Model` whose calls are timed and whose failures are counted, by provider."""

    def __init__(self, model: Model, metrics: Metrics, configured: str) -> None:
        self.model, self.metrics = model, metrics
        self.provider = provider_of(configured)

    async def stream(self, request: ModelRequest) -> AsyncIterator[str | ModelTurn]:
        started = time.perf_counter()
        try:
            async for item in self.model.stream(request):
                if isinstance(item, ModelTurn):
                    seconds = item.model_seconds or time.perf_counter() - started
                    provider = provider_of(item.model) if item.model else self.provider
                    self.metrics.model_seconds.labels(provider).observe(seconds)
                yield item
        except ModelError:
            self.metrics.model_errors.labels(self.provider).inc()
            raise


def metrics_routes(state: AppState, metrics: Metrics) -> list[BaseRoute]:
    settings = state.settings

    def authorized(request: Request) -> bool:
        header = request.headers.get("authorization")
        token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
        return is_admin(header, settings.admin_token) or is_admin(header, token)

    async def scrape(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse(
                {"error": "unauthorized", "message": "The metrics token or the admin token is "
                 "required (Authorization: Bearer …)."},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        await metrics.refresh(state)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", scrape, methods=["GET"])]


__all__ = ["Metrics", "MeteredModel", "backlog", "metrics_routes", "provider_of"]
