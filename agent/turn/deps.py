"""What a turn works with: its dependencies, the live conversation, and the callbacks it is given."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from agent.chat.events import ConfirmationRequest, ServerEvent
from agent.models.base import Model
from agent.turn.history import History

if TYPE_CHECKING:
    from actions.registry import ActionRegistry
    from actions.services import ActionServices
    from agent.app.settings import Settings

# The wire events a turn sends (assistant_delta, action_*, confirmation_request, handoff, …).
Emit = Callable[[ServerEvent], Awaitable[None]]
# Asks the shopper; True for a yes. Only a real confirmation_response resolves it.
Confirm = Callable[[ConfirmationRequest], Awaitable[bool]]
# Stores one message the turn appended (a JSON object with its `role`).
Record = Callable[[dict[str, Any]], Awaitable[None]]


class PassageLike(Protocol):
    @property
    def source(self) -> str: ...
    @property
    def heading(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def score(self) -> float: ...


class Found(Protocol):
    @property
    def passages(self) -> Sequence[PassageLike]: ...
    @property
    def confidence(self) -> float: ...


class Retriever(Protocol):
    """The knowledge base as a turn uses it (knowledge.KnowledgeBase)."""

    async def asearch(self, query: str, k: int = 5) -> Found: ...


@dataclass
class Retrieved:
    passages: list[PassageLike] = field(default_factory=list)
    confidence: float = 0.0


class NoKnowledge:
    """Until the knowledge base is open: no passages, so policy questions get "I don't know"."""

    async def asearch(self, query: str, k: int = 5) -> Retrieved:
        return Retrieved()


class TurnObserver(Protocol):
    """What turns report as they go (agent.app.metrics counts it for /metrics)."""

    def turn_finished(self, seconds: float, outcome: str) -> None: ...
    def action_finished(self, name: str, outcome: str) -> None: ...


class NoObserver:
    def turn_finished(self, seconds: float, outcome: str) -> None:
        pass

    def action_finished(self, name: str, outcome: str) -> None:
        pass


@dataclass
class AgentDeps:
    settings: Settings
    kb: Retriever
    registry: ActionRegistry
    services: ActionServices
    model: Model
    observer: TurnObserver = field(default_factory=NoObserver)


@dataclass
class Conversation:
    id: str
    customer_email: str | None = None
    history: History = field(default_factory=History)


__all__ = [
    "AgentDeps",
    "Confirm",
    "Conversation",
    "Emit",
    "Found",
    "NoKnowledge",
    "NoObserver",
    "PassageLike",
    "Record",
    "Retrieved",
    "Retriever",
    "TurnObserver",
]
