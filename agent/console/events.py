"""The console's live updates (server-sent events on /console/events): one model per event.

Each tells a signed-in console what to re-read; none carries conversation content, so a stale or
missed event costs a refresh, never data. The type names are read off the union.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from agent.chat.events import event_types


class _ConversationEvent(BaseModel):
    conversation_id: str


class ConversationUpdated(_ConversationEvent):
    """Anything shown in the inbox changed: status, assignee, tags, notes, a turn finished."""

    type: Literal["conversation.updated"] = "conversation.updated"


class ConversationHandoff(_ConversationEvent):
    """The AI asked for a person."""

    type: Literal["conversation.handoff"] = "conversation.handoff"


class ConversationMessage(_ConversationEvent):
    """The shopper wrote a message."""

    type: Literal["conversation.message"] = "conversation.message"


class ReturnUpdated(BaseModel):
    """A return left (or joined) the review queue."""

    type: Literal["return.updated"] = "return.updated"
    rma_id: str


AnyConsoleEvent = ConversationUpdated | ConversationHandoff | ConversationMessage | ReturnUpdated
ConsoleEvent = Annotated[AnyConsoleEvent, Field(discriminator="type")]
CONSOLE_EVENT_TYPES = event_types(ConsoleEvent)
# Reads an event another replica published (agent.console.inbox.Broadcaster).
CONSOLE_EVENT: TypeAdapter[AnyConsoleEvent] = TypeAdapter(ConsoleEvent)

__all__ = [
    "CONSOLE_EVENT",
    "CONSOLE_EVENT_TYPES",
    "AnyConsoleEvent",
    "ConsoleEvent",
    "ConversationHandoff",
    "ConversationMessage",
    "ConversationUpdated",
    "ReturnUpdated",
]
