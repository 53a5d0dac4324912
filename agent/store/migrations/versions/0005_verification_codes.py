"""Email verification codes (SHOPDESK_VERIFICATION=email_code): hashed, with expiry and tries, in
the database so that every replica checks the same codes.

Revision ID: agent_0005
Revises: agent_0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "agent_0005"
down_revision = "agent_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_verification_codes",
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
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_agent_verification_codes_conv",
        "agent_verification_codes",
        ["conversation_id", "status"],
    )


def downgrade() -> None:
    op.drop_index("ix_agent_verification_codes_conv", table_name="agent_verification_codes")
    op.drop_table("agent_verification_codes")
