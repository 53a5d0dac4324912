"""The conversation store: conversations, their messages (litellm format) and pending confirmations.

Same database as the order store (SQLite in the data directory by default, PostgreSQL by URL), its own
Alembic history (`agent/store/migrations`, version table `shopdesk_agent_version`). Calls are synchronous; the
server runs them on the store's own executor (`await store.acall(store.append, ...)`) so the event loop
never blocks on disk, and SQLite sees one writer at a time.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy import event

from agent.store.credentials import Credentials
from agent.store.staff_sessions import StaffSessionStore
from agent.store.status import ConfirmationStatus, ConversationStatus
from agent.store.tables import TS, confirmations_t, conversations_t, messages_t, metadata

VERSION_TABLE = "shopdesk_agent_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

Role = Literal["user", "assistant", "tool", "agent", "system-note"]
ROLES: frozenset[str] = frozenset({"user", "assistant", "tool", "agent", "system-note"})

T = TypeVar("T")

# Built once: constructing statements costs more CPU than SQLite spends running them.
_TOUCH = (
    conversations_t.update()
    .where(conversations_t.c.id == sa.bindparam("conv"))
    .values(updated_at=sa.bindparam("now", type_=TS))
)
_APPEND = (
    messages_t.insert()
    .values(
        conversation_id=sa.bindparam("conv"),
        seq=sa.select(sa.func.coalesce(sa.func.max(messages_t.c.seq), 0) + 1)
        .where(messages_t.c.conversation_id == sa.bindparam("conv"))
        .scalar_subquery(),
        role=sa.bindparam("role"),
        content=sa.bindparam("content", type_=sa.JSON),
        citations=sa.bindparam("cites", type_=sa.JSON),
        created_at=sa.bindparam("now", type_=TS),
    )
    .returning(messages_t.c.seq)
)


def new_conversation_id() -> str:
    """128 random bits, hex: unguessable, so the id alone is the resume capability."""
    return secrets.token_hex(16)


def _aware(value: datetime) -> datetime:
    # SQLite drops the zone; everything is stored in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass
class ConversationRecord:
    id: str
    status: ConversationStatus
    customer_email: str | None
    created_at: datetime
    updated_at: datetime
    message_count: int = 0


@dataclass
class StoredMessage:
    seq: int
    role: str
    content: dict[str, Any]
    citations: list[dict[str, Any]] | None
    created_at: datetime


@dataclass
class PendingConfirmation:
    id: str
    conversation_id: str
    action: str
    arguments: dict[str, Any]
    summary: str
    tool_call_id: str | None
    status: str
    created_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)


class ConversationNotFound(LookupError):
    pass


class ConversationStore:
    def __init__(self, url: str, *, clock: Callable[[], datetime]) -> None:
        self.url = url
        self.clock = clock
        is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        self.engine = sa.create_engine(url, **kwargs)
        if is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        # One writer thread for SQLite (no lock fights); a few for a server database.
        self._executor = ThreadPoolExecutor(
            max_workers=1 if is_sqlite else 4, thread_name_prefix="conv-store"
        )
        # Resume tokens and verification state (agent/store/credentials.py).
        self.credentials = Credentials(self.engine, self.clock)
        # Staff console sessions, shared by every replica (agent/store/staff_sessions.py).
        self.staff_sessions = StaffSessionStore(self.engine, self.clock)

    # Lifecycle ---------------------------------------------------------------------------------
    def migrate(self) -> None:
        """Bring the agent tables to the newest revision (Alembic, own version table)."""
        from actions.store.db import upgrade_to_head

        upgrade_to_head(self.engine, MIGRATIONS)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()

    async def acall(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one of this store's methods on its executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

    # Conversations -------------------------------------------------------------------------------
    def create(self, customer_email: str | None = None) -> ConversationRecord:
        now = self.clock()
        conv_id = new_conversation_id()
        with self.engine.begin() as conn:
            conn.execute(
                conversations_t.insert().values(
                    id=conv_id,
                    status=ConversationStatus.OPEN,
                    customer_email=customer_email,
                    created_at=now,
                    updated_at=now,
                )
            )
        return ConversationRecord(conv_id, ConversationStatus.OPEN, customer_email, now, now)

    def get(self, conv_id: str) -> ConversationRecord | None:
        if not conv_id or len(conv_id) > 64:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(conversations_t).where(conversations_t.c.id == conv_id)
            ).first()
            if row is None:
                return None
            count = conn.execute(
                sa.select(sa.func.count())
                .select_from(messages_t)
                .where(messages_t.c.conversation_id == conv_id)
            ).scalar_one()
        return _conversation(row, count)

    def set_customer(self, conv_id: str, email: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                conversations_t.update()
                .where(conversations_t.c.id == conv_id)
                .values(customer_email=email, updated_at=self.clock())
            )

    def set_status(self, conv_id: str, status: ConversationStatus | str) -> None:
        """open → pending (a person is asked to join; the inbox lists these) → … → resolved.
        A pre-console name (`handoff`, `closed`) is stored as its successor."""
        try:
            status = ConversationStatus.parse(status)
        except ValueError:
            raise ValueError(f"unknown status {status!r}") from None
        with self.engine.begin() as conn:
            conn.execute(
                conversations_t.update()
                .where(conversations_t.c.id == conv_id)
                .values(status=status, updated_at=self.clock())
            )

    def list_conversations(
        self, *, limit: int = 50, offset: int = 0, status: ConversationStatus | None = None
    ) -> list[ConversationRecord]:
        counts = (
            sa.select(messages_t.c.conversation_id, sa.func.count().label("n"))
            .group_by(messages_t.c.conversation_id)
            .subquery()
        )
        query = (
            sa.select(conversations_t, sa.func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.conversation_id == conversations_t.c.id)
            .where(conversations_t.c.status == status if status else sa.true())
            .order_by(conversations_t.c.updated_at.desc(), conversations_t.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            return [_conversation(row, row[-1]) for row in conn.execute(query)]

    # Messages --------------------------------------------------------------------------------------
    def append(
        self,
        conv_id: str,
        role: str,
        content: dict[str, Any],
        citations: list[dict[str, Any]] | None = None,
    ) -> StoredMessage:
        """Store one message durably (committed when this returns) and give its sequence number."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        content = json.loads(json.dumps(content, default=str))  # JSON-safe, detached copy
        now = self.clock()
        params = {"conv": conv_id, "now": now, "role": role, "content": content, "cites": citations}
        with self.engine.begin() as conn:
            # The conversation row first: it must exist, and on PostgreSQL the row lock it takes
            # serialises appends to one conversation, so the seq subquery cannot race.
            if conn.execute(_TOUCH, params).rowcount == 0:
                raise ConversationNotFound(conv_id)
            seq = conn.execute(_APPEND, params).scalar_one()
        return StoredMessage(seq, role, content, citations, now)

    def set_citations(self, conv_id: str, seq: int, citations: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                messages_t.update()
                .where(messages_t.c.conversation_id == conv_id, messages_t.c.seq == seq)
                .values(citations=citations)
            )

    def messages(self, conv_id: str) -> list[StoredMessage]:
        query = (
            sa.select(messages_t)
            .where(messages_t.c.conversation_id == conv_id)
            .order_by(messages_t.c.seq)
        )
        with self.engine.connect() as conn:
            return [
                StoredMessage(r.seq, r.role, r.content, r.citations, _aware(r.created_at))
                for r in conn.execute(query)
            ]

    def history(self, conv_id: str, hidden: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        """The litellm-format messages the loop continues from (order data of an ended
        verification withheld: what the `hidden` actions returned)."""
        from agent.store.transcript import to_history

        return to_history(self.shown_messages(conv_id, hidden))

    def transcript(
        self, conv_id: str, hidden: frozenset[str] = frozenset()
    ) -> list[dict[str, Any]]:
        """What a shopper sees on resume: user, assistant (+citations), action results, staff;
        what the `hidden` actions returned under an ended verification is withheld."""
        from agent.store.transcript import to_transcript

        return to_transcript(self.shown_messages(conv_id, hidden))

    def shown_messages(self, conv_id: str, hidden: frozenset[str]) -> list[StoredMessage]:
        """The stored messages with the order data of an ended verification withheld."""
        from agent.store.transcript import withhold

        through = self.credentials.state(conv_id).withheld_through
        return withhold(self.messages(conv_id), through, hidden)

    # Confirmations -------------------------------------------------------------------------------
    def add_confirmation(
        self,
        conv_id: str,
        *,
        confirmation_id: str,
        action: str,
        arguments: dict[str, Any],
        summary: str,
        tool_call_id: str | None = None,
    ) -> PendingConfirmation:
        now = self.clock()
        arguments = json.loads(json.dumps(arguments, default=str))
        with self.engine.begin() as conn:
            conn.execute(
                confirmations_t.insert().values(
                    id=confirmation_id,
                    conversation_id=conv_id,
                    action=action,
                    arguments=arguments,
                    summary=summary,
                    tool_call_id=tool_call_id,
                    status=ConfirmationStatus.PENDING,
                    created_at=now,
                )
            )
        return PendingConfirmation(
            confirmation_id,
            conv_id,
            action,
            arguments,
            summary,
            tool_call_id,
            ConfirmationStatus.PENDING,
            now,
        )

    def pending_confirmation(self, conv_id: str) -> PendingConfirmation | None:
        query = (
            sa.select(confirmations_t)
            .where(
                confirmations_t.c.conversation_id == conv_id,
                confirmations_t.c.status == ConfirmationStatus.PENDING,
            )
            .order_by(confirmations_t.c.created_at.desc())
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return PendingConfirmation(
            row.id,
            row.conversation_id,
            row.action,
            row.arguments,
            row.summary,
            row.tool_call_id,
            row.status,
            _aware(row.created_at),
        )

    def resolve_confirmation(self, confirmation_id: str, status: ConfirmationStatus | str) -> bool:
        """Mark a pending confirmation approved/declined/cancelled; False if it was not pending."""
        status = ConfirmationStatus(status)
        with self.engine.begin() as conn:
            result = conn.execute(
                confirmations_t.update()
                .where(
                    confirmations_t.c.id == confirmation_id,
                    confirmations_t.c.status == ConfirmationStatus.PENDING,
                )
                .values(status=status, resolved_at=self.clock())
            )
        return result.rowcount == 1


def _conversation(row: Any, count: int) -> ConversationRecord:
    return ConversationRecord(
        id=row.id,
        status=ConversationStatus.parse(row.status),
        customer_email=row.customer_email,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
        message_count=int(count or 0),
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (the order store, admin API) run beside the writer; NORMAL sync is durable
    # across process crashes in WAL mode, which is what "a restart loses nothing" needs.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


__all__ = [
    "ConversationNotFound",
    "ConversationStatus",
    "conversations_t",
    "messages_t",
    "ConversationRecord",
    "ConversationStore",
    "PendingConfirmation",
    "StoredMessage",
    "VERSION_TABLE",
    "metadata",
    "new_conversation_id",
]
