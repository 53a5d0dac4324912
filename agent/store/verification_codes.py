"""Email verification codes in the conversations database (migration agent_0005).

Only an HMAC of the code is stored (keyed with the store secret and salted with the row id), so a
copy of the database does not hand out codes; replicas share them through the database. The rules
(lifetime, tries) are the caller's (agent/chat/verification.py); this module keeps the rows.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa

from agent.store.conversations import ConversationStore
from agent.store.tables import TS, metadata

codes_t = sa.Table(
    "agent_verification_codes",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(64),
        sa.ForeignKey("agent_conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("order_id", sa.String(64), nullable=False),
    sa.Column("code_hash", sa.String(128), nullable=False),
    sa.Column("tries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Index("ix_agent_verification_codes_conv", "conversation_id", "status"),
)


class CodeStatus(StrEnum):
    PENDING = "pending"  # sent, waiting to be typed in
    USED = "used"  # typed in correctly: the shopper is verified
    REPLACED = "replaced"  # a newer code was sent to this conversation
    SPENT = "spent"  # too many wrong tries


@dataclass(frozen=True)
class PendingCode:
    id: str
    conversation_id: str
    email: str
    order_id: str
    code_hash: str
    tries: int
    expires_at: datetime


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class CodeStore:
    """The rows behind email codes; synchronous (run them with `conversations.acall`)."""

    def __init__(self, conversations: ConversationStore, secret: str) -> None:
        self.conversations = conversations
        self._key = hashlib.sha256(f"verification-code\x1f{secret}".encode()).digest()

    def digest(self, code_id: str, code: str) -> str:
        return hmac.new(self._key, f"{code_id}\x1f{code}".encode(), hashlib.sha256).hexdigest()

    def matches(self, pending: PendingCode, code: str) -> bool:
        return hmac.compare_digest(pending.code_hash, self.digest(pending.id, code))

    def issue(
        self, conv_id: str, *, email: str, order_id: str, code: str, expires_at: datetime
    ) -> str:
        """Store a new code for the conversation; any earlier one stops counting."""
        code_id = uuid.uuid4().hex
        now = self.conversations.clock()
        with self.conversations.engine.begin() as conn:
            conn.execute(
                codes_t.update()
                .where(codes_t.c.conversation_id == conv_id)
                .where(codes_t.c.status == CodeStatus.PENDING)
                .values(status=CodeStatus.REPLACED)
            )
            conn.execute(
                codes_t.insert().values(
                    id=code_id, conversation_id=conv_id, email=email, order_id=order_id,
                    code_hash=self.digest(code_id, code), tries=0, status=CodeStatus.PENDING,
                    created_at=now, expires_at=expires_at,
                )
            )  # fmt: skip
        return code_id

    def pending(self, conv_id: str) -> PendingCode | None:
        """The conversation's code waiting to be typed in (expired ones included: the caller
        tells the shopper it expired rather than that it is wrong)."""
        with self.conversations.engine.connect() as conn:
            row = conn.execute(
                sa.select(codes_t)
                .where(codes_t.c.conversation_id == conv_id)
                .where(codes_t.c.status == CodeStatus.PENDING)
                .order_by(codes_t.c.created_at.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return PendingCode(
            id=row.id, conversation_id=row.conversation_id, email=row.email,
            order_id=row.order_id, code_hash=row.code_hash, tries=row.tries,
            expires_at=_aware(row.expires_at),
        )  # fmt: skip

    def record_try(self, code_id: str, *, correct: bool, max_tries: int) -> CodeStatus | None:
        """Count one try of a pending code, atomically; its status after it, or None when it was
        no longer pending (another tab or replica used it first)."""
        with self.conversations.engine.begin() as conn:
            if correct:
                done = conn.execute(
                    codes_t.update()
                    .where(codes_t.c.id == code_id)
                    .where(codes_t.c.status == CodeStatus.PENDING)
                    .values(status=CodeStatus.USED, tries=codes_t.c.tries + 1)
                )
                return CodeStatus.USED if done.rowcount else None
            done = conn.execute(
                codes_t.update()
                .where(codes_t.c.id == code_id)
                .where(codes_t.c.status == CodeStatus.PENDING)
                .values(tries=codes_t.c.tries + 1)
            )
            if not done.rowcount:
                return None
            conn.execute(
                codes_t.update()
                .where(codes_t.c.id == code_id)
                .where(codes_t.c.tries >= max_tries)
                .values(status=CodeStatus.SPENT)
            )
            status = conn.execute(
                sa.select(codes_t.c.status).where(codes_t.c.id == code_id)
            ).scalar_one()
        return CodeStatus(status)

    def close(self, code_id: str, status: CodeStatus) -> None:
        with self.conversations.engine.begin() as conn:
            conn.execute(codes_t.update().where(codes_t.c.id == code_id).values(status=status))


__all__ = ["CodeStatus", "CodeStore", "PendingCode", "codes_t"]
