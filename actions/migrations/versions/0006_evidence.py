"""Photo evidence: the shopper's re-encoded photos, by conversation and the return they back (issue 17).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("rma_id", sa.String(length=20), nullable=True),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("file_name", sa.String(length=80), nullable=False),
        sa.Column("thumb_name", sa.String(length=80), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("source_kind", sa.String(length=10), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("thumb_size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rma_id"],
            ["return_authorizations.id"],
            name=op.f("fk_evidence_rma_id_return_authorizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_evidence_rma_id"), ["rma_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_rma_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_conversation_id"))
    op.drop_table("evidence")
