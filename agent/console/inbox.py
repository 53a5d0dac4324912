"""The staff inbox: conversation status for people, assignee, tags, notes, live events and webhooks.

Statuses (`agent.store.status.ConversationStatus`): `open` (the AI answers), `pending` (a person is
needed), `assigned` (a person owns it), `resolved`. While a conversation is `pending` or `assigned`
the AI does not answer: shopper messages are stored and shown to staff. Rows written before the
console existed said `handoff` / `closed`; migration agent_0002 rewrites them and
`ConversationStatus.parse` reads any that slip through.

The console's columns live on `agent_conversations` (migration agent_0002), in the one table
definition of agent/store/tables.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from actions.services import ActionServices
from agent.app.settings import Settings
from agent.chat.bus import Bus, LocalBus, Payload
from agent.chat.events import Handoff, MessageReceived
from agent.console.events import (
    CONSOLE_EVENT,
    AnyConsoleEvent,
    ConversationHandoff,
    ConversationMessage,
    ConversationUpdated,
)
from agent.store.conversations import ConversationStore
from agent.store.status import LEGACY_STATUSES, ConversationStatus
from agent.store.tables import conversations_t as conv_t
from agent.store.tables import messages_t

if TYPE_CHECKING:
    from agent.chat.sessions import Session

log = logging.getLogger("shopdesk.inbox")

CONSOLE_STATUSES: tuple[ConversationStatus, ...] = tuple(ConversationStatus)
WEBHOOK_EVENTS = ("conversation.handoff", "conversation.resolved")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WAITING_TEXT = "A member of our team will reply here."
AWAY_TEXT = (
    "Our team is away right now. Leave your email address here and we'll follow up by email."
)


def within_business_hours(settings: Settings, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(settings.business_timezone))
    days = {d.strip().lower()[:3] for d in settings.business_days.split(",") if d.strip()}
    if DAYS[local.weekday()] not in days:
        return False
    start, end = settings.business_hours.split("-")
    return start <= local.strftime("%H:%M") < end


@dataclass
class InboxItem:
    id: str
    status: ConversationStatus
    customer_email: str | None
    created_at: datetime
    updated_at: datetime
    assignee: str | None = None
    tags: list[str] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    follow_up_email: str | None = None
    preview: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "customer_email": self.customer_email,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "assignee": self.assignee,
            "tags": self.tags,
            "notes": self.notes,
            "follow_up_email": self.follow_up_email,
            "preview": self.preview,
        }


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _item(row: Any) -> InboxItem:
    return InboxItem(
        id=row.id,
        status=ConversationStatus.parse(row.status),
        customer_email=row.customer_email,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
        assignee=row.assignee,
        tags=list(row.tags or []),
        notes=list(row.notes or []),
        follow_up_email=row.follow_up_email,
    )


class InboxStore:
    """Synchronous reads and writes; call them through `store.acall` (the store's executor)."""

    def __init__(self, store: ConversationStore) -> None:
        self.store = store
        self.engine = store.engine

    def list(
        self, *, status: ConversationStatus | None = None, query: str = "", limit: int = 100
    ) -> list[InboxItem]:
        stmt = sa.select(conv_t).order_by(conv_t.c.updated_at.desc(), conv_t.c.id).limit(limit)
        if status:
            stmt = stmt.where(
                conv_t.c.status.in_(
                    [status, *[k for k, v in LEGACY_STATUSES.items() if v == status]]
                )
            )
        query = query.strip()
        if query:
            like = f"%{query.lower()}%"
            # An order number is mentioned in a message (or an action's arguments/result).
            mentioned = sa.exists().where(
                messages_t.c.conversation_id == conv_t.c.id,
                sa.func.lower(sa.cast(messages_t.c.content, sa.Text)).like(like),
            )
            stmt = stmt.where(
                sa.or_(
                    sa.func.lower(conv_t.c.customer_email).like(like),
                    sa.func.lower(conv_t.c.follow_up_email).like(like),
                    mentioned,
                )
            )
        with self.engine.connect() as conn:
            items = [_item(row) for row in conn.execute(stmt)]
            for item in items:
                item.preview = self._preview(conn, item.id)
        return items

    def _preview(self, conn: sa.Connection, conv_id: str) -> str:
        row = conn.execute(
            sa.select(messages_t.c.role, messages_t.c.content)
            .where(
                messages_t.c.conversation_id == conv_id,
                messages_t.c.role.in_(["user", "assistant", "agent"]),
            )
            .order_by(messages_t.c.seq.desc())
            .limit(5)
        ).all()
        for role, content in row:
            text = content.get("content") if isinstance(content, dict) else None
            if isinstance(text, str) and text.strip():
                prefix = {"user": "", "assistant": "AI: ", "agent": "Staff: "}[role]
                return (prefix + text.replace("**", "").strip())[:140]
        return ""

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(CONSOLE_STATUSES, 0)
        with self.engine.connect() as conn:
            for status, n in conn.execute(
                sa.select(conv_t.c.status, sa.func.count()).group_by(conv_t.c.status)
            ):
                out[ConversationStatus.parse(status)] += n
        return out

    def get(self, conv_id: str) -> InboxItem | None:
        if not conv_id or len(conv_id) > 64:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(conv_t).where(conv_t.c.id == conv_id)).first()
        return _item(row) if row else None

    def latest_for(self, email: str) -> str | None:
        """The shopper's most recently active conversation (to tell them about a decision)."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(conv_t.c.id)
                .where(sa.func.lower(conv_t.c.customer_email) == email.strip().lower())
                .order_by(conv_t.c.updated_at.desc())
                .limit(1)
            ).scalar()

    def status(self, conv_id: str) -> ConversationStatus | None:
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(conv_t.c.status).where(conv_t.c.id == conv_id)).scalar()
        return ConversationStatus.parse(value) if value else None

    def update(self, conv_id: str, **values: Any) -> None:
        values["updated_at"] = self.store.clock()
        with self.engine.begin() as conn:
            conn.execute(conv_t.update().where(conv_t.c.id == conv_id).values(**values))

    def add_note(self, conv_id: str, author: str, text: str, at: datetime) -> None:
        with self.engine.begin() as conn:
            notes = conn.execute(sa.select(conv_t.c.notes).where(conv_t.c.id == conv_id)).scalar()
            notes = [*(notes or []), {"author": author, "text": text, "at": at.isoformat()}]
            conn.execute(conv_t.update().where(conv_t.c.id == conv_id).values(notes=notes))


class Broadcaster:
    """Fan-out of small JSON events to every signed-in console (server-sent events), on every
    replica: what one publishes reaches the others' consoles over the bus ("console")."""

    def __init__(self, bus: Bus | None = None) -> None:
        self._queues: set[asyncio.Queue[AnyConsoleEvent]] = set()
        self.bus = bus or LocalBus()
        self.bus.subscribe("console", self._remote)

    def publish(self, event: AnyConsoleEvent) -> None:
        self._local(event)
        self.bus.publish("console", event.model_dump(mode="json"))

    async def _remote(self, payload: Payload) -> None:
        self._local(CONSOLE_EVENT.validate_python(payload))

    def _local(self, event: AnyConsoleEvent) -> None:
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):  # a stuck console misses events; it
                queue.put_nowait(event)  # re-reads the whole list when it reconnects anyway

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[AnyConsoleEvent]]:
        queue: asyncio.Queue[AnyConsoleEvent] = asyncio.Queue(maxsize=100)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    @property
    def listeners(self) -> int:
        return len(self._queues)


ConversationEventType = Literal[
    "conversation.updated", "conversation.handoff", "conversation.message"
]
_CONVERSATION_EVENTS: dict[
    str, type[ConversationUpdated] | type[ConversationHandoff] | type[ConversationMessage]
] = {
    "conversation.updated": ConversationUpdated,
    "conversation.handoff": ConversationHandoff,
    "conversation.message": ConversationMessage,
}


class Inbox:
    """What the chat side tells the console: a handoff, a shopper message; plus the webhooks."""

    def __init__(
        self,
        store: ConversationStore,
        services: ActionServices,
        settings: Settings,
        bus: Bus | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.data = InboxStore(store)
        self.services = services
        self.events = Broadcaster(bus)

    def publish(self, kind: ConversationEventType, conv_id: str) -> None:
        self.events.publish(_CONVERSATION_EVENTS[kind](conversation_id=conv_id))

    async def handoff(self, conv_id: str, reason: str) -> None:
        await self.store.acall(self.data.update, conv_id, status=ConversationStatus.PENDING)
        await self.webhook("conversation.handoff", conv_id, reason=reason)
        self.publish("conversation.handoff", conv_id)

    def handoff_event(self, event: Handoff) -> Handoff:
        """The `handoff` event for the widget, with what to tell the shopper."""
        away = not within_business_hours(self.settings, self.settings.clock())
        message = AWAY_TEXT if away else WAITING_TEXT
        return event.model_copy(update={"ask_email": away, "message": message})

    async def shopper_message(self, session: Session, text: str) -> bool:
        """Called with each stored shopper message; True when a person owns the conversation
        (no AI turn: the message waits for staff, and an email left while away is kept)."""
        self.publish("conversation.message", session.id)
        if session.human is None:
            status = await self.store.acall(self.data.status, session.id)
            session.human = status is not None and status.human
        if not session.human:
            return False
        ack = MessageReceived()
        found = EMAIL.search(text)
        if found:
            item = await self.store.acall(self.data.get, session.id)
            if item is not None and not item.follow_up_email:
                email = found.group(0).strip(".,;").lower()
                await self.store.acall(self.data.update, session.id, follow_up_email=email)
                ack.notice = f"Thanks — we'll follow up at {email} if we miss you here."
                self.publish("conversation.updated", session.id)
        await session.emit(ack)
        return True

    async def webhook(self, event: str, conv_id: str, **extra: Any) -> None:
        """Enqueue a `conversation.*` delivery in the actions' webhook outbox."""
        webhooks = self.services.webhooks
        item = await self.store.acall(self.data.get, conv_id)
        data = {"conversation_id": conv_id, **extra}
        if item is not None:
            data |= {"status": item.status, "customer_email": item.customer_email,
                     "assignee": item.assignee}  # fmt: skip

        def write() -> None:
            with self.services.store.writing() as s:
                webhooks.enqueue(s, event, data)
            webhooks.wake()

        try:
            await asyncio.to_thread(write)
        except Exception:  # a webhook must never break the chat
            log.exception("could not enqueue %s for %s", event, conv_id)


__all__ = [
    "CONSOLE_STATUSES",
    "WEBHOOK_EVENTS",
    "Broadcaster",
    "Inbox",
    "InboxItem",
    "InboxStore",
    "within_business_hours",
]
