"""Staff console: assignee, tags, internal notes and follow-up email on conversations; the old
`handoff` / `closed` statuses become `pending` / `resolved`.

Revision ID: agent_0002
Revises: agent_0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "agent_0002"
down_revision = "agent_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): recreating the parent table on SQLite with foreign keys on
    # would cascade-delete every message.
    op.add_column("agent_conversations", sa.Column("assignee", sa.String(200), nullable=True))
    op.add_column("agent_conversations", sa.Column("tags", sa.JSON, nullable=True))
    op.add_column("agent_conversations", sa.Column("notes", sa.JSON, nullable=True))
    op.add_column(
        "agent_conversations", sa.Column("follow_up_email", sa.String(320), nullable=True)
    )
    op.execute("UPDATE agent_conversations SET status = 'pending' WHERE status = 'handoff'")
    op.execute("UPDATE agent_conversations SET status = 'resolved' WHERE status = 'closed'")
    op.create_index("ix_agent_conversations_status", "agent_conversations", ["status"])


def downgrade() -> None:
    op.drop_index("ix_agent_conversations_status", table_name="agent_conversations")
    op.execute(
        "UPDATE agent_conversations SET status = 'handoff' WHERE status IN ('pending', 'assigned')"
    )
    op.execute("UPDATE agent_conversations SET status = 'closed' WHERE status = 'resolved'")
    for column in ("follow_up_email", "notes", "tags", "assignee"):
        op.drop_column("agent_conversations", column)
