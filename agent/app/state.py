"""What the running app holds, typed: one `AppState`, built once by `build_app` and handed to the
parts that need it (the chat endpoint, the console, the admin API) instead of an untyped bag."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import Lifespan

from actions.registry import ActionRegistry
from actions.services import ActionServices
from agent.app.settings import Settings
from agent.chat.bus import Bus, LocalBus
from agent.chat.limits import Throttle
from agent.chat.sessions import SessionManager
from agent.console.inbox import Inbox
from agent.console.staff import StaffAuth
from agent.store.conversations import ConversationStore
from agent.turn.deps import AgentDeps
from knowledge import KnowledgeBase

if TYPE_CHECKING:
    from agent.app.metrics import Metrics


@dataclass
class AppState:
    settings: Settings
    registry: ActionRegistry
    services: ActionServices
    deps: AgentDeps
    conversations: ConversationStore
    sessions: SessionManager
    throttle: Throttle  # every counted limit (agent/chat/limits.py)
    inbox: Inbox
    staff_auth: StaffAuth
    kb: KnowledgeBase | None = None  # opened by the lifespan unless the caller passed one
    ready: bool = False  # the lifespan has finished starting up (/readyz checks it)
    metrics: Metrics | None = None  # /metrics (agent/app/metrics.py); one registry per app
    # What replicas tell each other (agent/chat/bus.py): publish/subscribe for any part.
    bus: Bus = field(default_factory=LocalBus)


class ShopdeskApp(Starlette):
    """The Starlette app whose `state` is the typed AppState (tests and tools read `app.state`)."""

    state: AppState  # type: ignore[assignment]  # Starlette declares its untyped State bag here

    def __init__(
        self, state: AppState, routes: Sequence[BaseRoute], lifespan: Lifespan[Any]
    ) -> None:
        super().__init__(routes=routes, lifespan=lifespan)
        self.state = state


__all__ = ["AppState", "ShopdeskApp"]
