"""stock_writes: delta writes awaiting an answer and submitted writes awaiting confirmation

Revision ID: 0018_stock_writes
Revises: 0017_kits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0018_stock_writes"
down_revision = "0017_kits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_writes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("base_quantity", sa.Integer(), nullable=True),
        sa.Column("delta", sa.Integer(), nullable=True),
        sa.Column("idempotency_id", sa.String(length=100), nullable=True),
        sa.Column("handle", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"], name=op.f("fk_stock_writes_listing_id_listings"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_stock_writes_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_writes")),
        sa.UniqueConstraint("listing_id", name=op.f("uq_stock_writes_listing_id")),
    )
    op.create_index(op.f("ix_stock_writes_account_id"), "stock_writes", ["account_id"], unique=False)
    op.create_index(op.f("ix_stock_writes_status"), "stock_writes", ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("stock_writes")
