"""One live conversation (its sockets, turn and open card) and the seams live sessions call out
through: the staff inbox, and the reader of typed verification codes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from agent.chat.events import ConfirmationRequest, Handoff, ServerEvent
from agent.turn.history import History

if TYPE_CHECKING:
    from agent.chat.sessions import SessionManager

Send = Callable[[str], Awaitable[bool]]  # returns False once the socket is gone


class SessionInbox(Protocol):
    """What live sessions tell the staff console (agent.console.inbox.Inbox)."""

    async def shopper_message(self, session: Session, text: str) -> bool:
        """Called with each stored shopper message; True when a person owns the conversation."""
        ...

    async def handoff(self, conv_id: str, reason: str) -> None: ...

    def handoff_event(self, event: Handoff) -> Handoff:
        """The `handoff` event for the widget, with what to tell the shopper."""
        ...

    def publish(self, kind: str, conv_id: str) -> None: ...


class TypedCode(Protocol):
    """Reads a verification code the shopper types, before any turn (agent.chat.email_code);
    True when `text` was one and has been answered."""

    async def answer(self, manager: SessionManager, session: Session, text: str) -> bool: ...


class Session:
    def __init__(self, conv_id: str, customer_email: str | None) -> None:
        self.id = conv_id
        self.customer_email = customer_email
        self.sockets: set[Send] = set()
        # The model's view of the conversation: loaded lazily, then extended message by message.
        self.history: History | None = None
        self.turn: asyncio.Task[None] | None = None
        # A message is being stored; its turn starts next (two tabs, one turn).
        self.starting = False
        self.waiting: dict[str, asyncio.Future[bool]] = {}
        self.pending_request: ConfirmationRequest | None = None
        self.expiry: asyncio.TimerHandle | None = None
        # Whether a confirmation left by a turn that died (restart, expiry) may still be pending.
        self.may_have_stale_confirmation = True
        # A person owns the conversation (console status pending/assigned): the AI stays quiet.
        # None until looked up; the console sets it when it changes the status.
        self.human: bool | None = None
        # Other replicas' sockets of this conversation (agent.chat.replicas): what it emits goes
        # there too; None in one process.
        self.fanout: Callable[[str, str], None] | None = None

    @property
    def busy(self) -> bool:
        return self.starting or (self.turn is not None and not self.turn.done())

    async def emit(self, event: ServerEvent) -> None:
        await self.emit_text(event.model_dump_json())

    async def emit_text(self, text: str) -> None:
        await self.emit_local(text)
        if self.fanout is not None:
            self.fanout(self.id, text)

    async def emit_local(self, text: str) -> None:
        """To this replica's sockets only (what another replica's turn said)."""
        for send in list(self.sockets):
            if not await send(text):
                self.sockets.discard(send)


__all__ = ["Send", "Session", "SessionInbox", "TypedCode"]
