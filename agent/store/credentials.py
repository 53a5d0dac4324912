"""The shopper's credential and verification, stored with the conversation.

A conversation id is a name that travels (webhooks, the console, logs); what resumes a conversation
is its resume token: 256 random bits, given to the shopper's browser once and stored here only as its
sha256, so neither the database nor anything that reads it can hand it out again. The token rotates
on every change of verification, so a token copied before a verification (or before its expiry)
does not carry the new state.

A verification records how it was made (`order` for order number + email, `signed` for the host
page's signature) and when the shopper was last active; an ended verification leaves
`withheld_through`, the last message whose order data the transcript and the model no longer see.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from agent.store.status import ConfirmationStatus
from agent.store.tables import confirmations_t, conversations_t, messages_t

Via = Literal["order", "signed"]


def new_resume_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass
class Verification:
    """Who the conversation is verified as, how, and when the shopper was last seen."""

    email: str | None
    via: str | None
    last_active: datetime | None
    withheld_through: int | None

    def idle_expired(self, now: datetime, idle: timedelta) -> bool:
        """A guest verification ends after `idle` without the shopper; a signed one is renewed by
        the host page's signature on every hello instead."""
        if not self.email or self.via != "order" or self.last_active is None:
            return False
        return now - self.last_active >= idle


@dataclass
class Approved:
    """A confirmation the shopper approved: the action and the arguments they saw."""

    id: str
    action: str
    arguments: dict[str, Any]
    created_at: datetime


class Credentials:
    """Resume tokens and verification state of the conversation store's conversations."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def issue(self, conv_id: str) -> str:
        """A new resume token for the conversation; any earlier one stops resuming it."""
        token = new_resume_token()
        self._update(conv_id, resume_token_hash=token_hash(token))
        return token

    def matches(self, conv_id: str, token: str | None) -> bool:
        """True when `token` is the conversation's current resume token (constant-time)."""
        if not conv_id or not token or len(token) > 128:
            return False
        query = sa.select(conversations_t.c.resume_token_hash).where(
            conversations_t.c.id == conv_id
        )
        with self.engine.connect() as conn:
            stored = conn.execute(query).scalar_one_or_none()
        if not stored:
            return False
        return hmac.compare_digest(stored, token_hash(token))

    def verify(self, conv_id: str, email: str, via: Via) -> str:
        """The shopper is verified as `email`: recorded with how and when; the token rotates."""
        now = self.clock()
        token = new_resume_token()
        self._update(
            conv_id,
            customer_email=email,
            verified_via=via,
            verified_at=now,
            active_at=now,
            resume_token_hash=token_hash(token),
        )
        return token

    def end_verification(self, conv_id: str) -> str:
        """The verification ends (idle expiry, reset): no shopper, everything stored so far keeps
        its order data withheld, open confirmations are moot, and the token rotates."""
        token = new_resume_token()
        now = self.clock()
        last_seq = (
            sa.select(sa.func.coalesce(sa.func.max(messages_t.c.seq), 0))
            .where(messages_t.c.conversation_id == conv_id)
            .scalar_subquery()
        )
        with self.engine.begin() as conn:
            conn.execute(
                conversations_t.update()
                .where(conversations_t.c.id == conv_id)
                .values(
                    customer_email=None,
                    verified_via=None,
                    verified_at=None,
                    withheld_through=last_seq,
                    resume_token_hash=token_hash(token),
                    updated_at=now,
                )
            )
            conn.execute(
                confirmations_t.update()
                .where(
                    confirmations_t.c.conversation_id == conv_id,
                    confirmations_t.c.status == ConfirmationStatus.PENDING,
                )
                .values(status=ConfirmationStatus.CANCELLED, resolved_at=now)
            )
        return token

    def seen(self, conv_id: str, via: Via | None = None) -> None:
        """The shopper came back (a resume): the idle time starts again. `via="signed"`: the host
        page signed the same shopper again, so the verification no longer ends by idling."""
        values: dict[str, Any] = {"active_at": self.clock()}
        if via is not None:
            values["verified_via"] = via
        self._update(conv_id, **values)

    def state(self, conv_id: str) -> Verification:
        last_user = (
            sa.select(sa.func.max(messages_t.c.created_at))
            .where(messages_t.c.conversation_id == conv_id, messages_t.c.role == "user")
            .scalar_subquery()
        )
        c = conversations_t.c
        query = sa.select(
            c.customer_email, c.verified_via, c.active_at, c.withheld_through, last_user
        ).where(c.id == conv_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return Verification(None, None, None, None)
        seen = [t for t in (_aware(row[2]), _aware(row[4])) if t is not None]
        return Verification(row[0], row[1], max(seen) if seen else None, row[3])

    def approved(self, conv_id: str) -> list[Approved]:
        """The conversation's approved confirmations, newest first."""
        now = self.clock()
        t = confirmations_t.c
        query = (
            sa.select(t.id, t.action, t.arguments, t.created_at)
            .where(t.conversation_id == conv_id, t.status == ConfirmationStatus.APPROVED)
            .order_by(t.created_at.desc())
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [Approved(r.id, r.action, r.arguments, _aware(r.created_at) or now) for r in rows]

    def _update(self, conv_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                conversations_t.update().where(conversations_t.c.id == conv_id).values(**values)
            )


__all__ = ["Approved", "Credentials", "Verification", "new_resume_token", "token_hash"]
