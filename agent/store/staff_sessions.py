"""Staff console sessions in the conversations database (migration agent_0006).

Every replica reads the same rows, so a member of staff stays signed in whichever replica the
load balancer picks. Rows are keyed by the sha256 of the cookie's token and hold only the sha256
of the CSRF token: a copy of the database signs nobody in. The rules (lifetime, CSRF) are the
caller's (agent/console/staff.py); this module keeps the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from agent.store.tables import TS, metadata

staff_sessions_t = sa.Table(
    "agent_staff_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("csrf_hash", sa.String(64), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("last_seen_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Index("ix_agent_staff_sessions_expires", "expires_at"),
)


@dataclass(frozen=True)
class StaffSessionRow:
    token_hash: str
    name: str
    csrf_hash: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class StaffSessionStore:
    """Synchronous and small: one indexed row per call."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine, self.clock = engine, clock

    def add(self, row: StaffSessionRow) -> None:
        with self.engine.begin() as conn:
            # Expired sessions go when someone signs in: no sweeper needed, and the table stays
            # as small as the staff who are signed in.
            conn.execute(
                staff_sessions_t.delete().where(staff_sessions_t.c.expires_at < self.clock())
            )
            conn.execute(staff_sessions_t.insert().values(**row.__dict__))

    def get(self, token_hash: str) -> StaffSessionRow | None:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(staff_sessions_t).where(staff_sessions_t.c.token_hash == token_hash)
            ).first()
        if found is None:
            return None
        return StaffSessionRow(
            token_hash=found.token_hash, name=found.name, csrf_hash=found.csrf_hash,
            created_at=_aware(found.created_at), last_seen_at=_aware(found.last_seen_at),
            expires_at=_aware(found.expires_at),
        )  # fmt: skip

    def touch(self, token_hash: str, when: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                staff_sessions_t.update()
                .where(staff_sessions_t.c.token_hash == token_hash)
                .values(last_seen_at=when)
            )

    def delete(self, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                staff_sessions_t.delete().where(staff_sessions_t.c.token_hash == token_hash)
            )


__all__ = ["StaffSessionRow", "StaffSessionStore", "staff_sessions_t"]
