"""The conversation tables: one SQLAlchemy Table per table, shared by the store, the console and
insights. The migrations in agent/store/migrations create them; these mirror the newest revision."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

conversations_t = sa.Table(
    "agent_conversations",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("customer_email", sa.String(320), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    # The staff console's columns (migration agent_0002).
    sa.Column("assignee", sa.String(200), nullable=True),
    sa.Column("tags", sa.JSON, nullable=True),
    sa.Column("notes", sa.JSON, nullable=True),
    sa.Column("follow_up_email", sa.String(320), nullable=True),
    # The shopper's credential and verification (migration agent_0004): the resume token only as
    # its sha256; how and when the shopper was verified; the last message whose order data stays
    # withheld since a verification ended.
    sa.Column("resume_token_hash", sa.String(64), nullable=True),
    sa.Column("verified_via", sa.String(16), nullable=True),
    sa.Column("verified_at", TS, nullable=True),
    sa.Column("active_at", TS, nullable=True),
    sa.Column("withheld_through", sa.Integer, nullable=True),
    sa.Index("ix_agent_conversations_updated", "updated_at"),
    sa.Index("ix_agent_conversations_created", "created_at"),  # insights count by start day
)
messages_t = sa.Table(
    "agent_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "conversation_id",
        sa.String(64),
        sa.ForeignKey("agent_conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("content", sa.JSON, nullable=False),
    sa.Column("citations", sa.JSON, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("conversation_id", "seq", name="uq_agent_messages_seq"),
)
confirmations_t = sa.Table(
    "agent_confirmations",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(64),
        sa.ForeignKey("agent_conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("action", sa.String(200), nullable=False),
    sa.Column("arguments", sa.JSON, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("tool_call_id", sa.String(200), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("resolved_at", TS, nullable=True),
    sa.Index("ix_agent_confirmations_conv", "conversation_id", "status"),
)

__all__ = ["TS", "confirmations_t", "conversations_t", "messages_t", "metadata"]
