"""reports: customer key and refunds on orders, refunded units on lines, variant cost and supply

Revision ID: 0014_reports
Revises: 0003_orders
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0014_reports"
down_revision = "0003_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("refunded_total", store.types.DecimalText(length=40), nullable=True))
        batch_op.create_index("ix_orders_placed_at", ["placed_at"], unique=False)
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refunded_quantity", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "variant_supply",
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("cost_price", store.types.DecimalText(length=40), nullable=True),
        sa.Column("cost_currency", sa.String(length=3), nullable=True),
        sa.Column("supplier", sa.String(length=255), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=True),
        sa.Column("created_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["variant_id"], ["variants.id"], name=op.f("fk_variant_supply_variant_id_variants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("variant_id", name=op.f("pk_variant_supply")),
    )


def downgrade() -> None:
    op.drop_table("variant_supply")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_column("refunded_quantity")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_placed_at")
        batch_op.drop_column("refunded_total")
        batch_op.drop_column("customer_key")
