"""Staff console sessions in the database, so that every replica behind a load balancer knows a
signed-in member of staff (issue 16). Only hashes of the cookie token and of the CSRF token are kept.

Revision ID: agent_0006
Revises: agent_0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "agent_0006"
down_revision = "agent_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_staff_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("csrf_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_agent_staff_sessions_expires", "agent_staff_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_agent_staff_sessions_expires", table_name="agent_staff_sessions")
    op.drop_table("agent_staff_sessions")
