"""Insights: conversations are counted by the day they started, so `created_at` gets an index.

Revision ID: agent_0003
Revises: agent_0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "agent_0003"
down_revision = "agent_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_agent_conversations_created", "agent_conversations", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_agent_conversations_created", table_name="agent_conversations")
