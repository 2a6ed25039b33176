"""returns: after-sales per order line (returns, exchanges, refund only) and their flow

Revision ID: 0014_returns
Revises: 0014_alerts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0014_returns"
down_revision = "0014_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("external_key", sa.String(length=500), nullable=False),
        sa.Column("replacement_variant_id", sa.Integer(), nullable=True),
        sa.Column("replacement_status", sa.String(length=20), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("created_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_returns_order_id_orders"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["order_line_id"], ["order_lines.id"],
                                name=op.f("fk_returns_order_line_id_order_lines"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["variant_id"], ["variants.id"], name=op.f("fk_returns_variant_id_variants")),
        sa.ForeignKeyConstraint(["replacement_variant_id"], ["variants.id"],
                                name=op.f("fk_returns_replacement_variant_id_variants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
        sa.UniqueConstraint("external_key", name=op.f("uq_returns_external_key")),
    )
    op.create_index(op.f("ix_returns_order_id"), "returns", ["order_id"], unique=False)
    op.create_index(op.f("ix_returns_order_line_id"), "returns", ["order_line_id"], unique=False)
    op.create_index(op.f("ix_returns_status"), "returns", ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("returns")
