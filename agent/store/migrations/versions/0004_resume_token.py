"""The shopper's credential: a resume token (kept only as its sha256), how and when the shopper was
verified (a guest verification expires after idle minutes), and the last message whose order data
the transcript and the model's history withhold since a verification ended.

Revision ID: agent_0004
Revises: agent_0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "agent_0004"
down_revision = "agent_0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("agent_conversations") as batch:
        batch.add_column(sa.Column("resume_token_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("verified_via", sa.String(16), nullable=True))
        batch.add_column(sa.Column("verified_at", TS, nullable=True))
        batch.add_column(sa.Column("active_at", TS, nullable=True))
        batch.add_column(sa.Column("withheld_through", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent_conversations") as batch:
        for name in ("withheld_through", "active_at", "verified_at", "verified_via"):
            batch.drop_column(name)
        batch.drop_column("resume_token_hash")
