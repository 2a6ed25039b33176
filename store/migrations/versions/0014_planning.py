"""planning: each variant's last computed demand figures and dynamic safety stock

Revision ID: 0014_planning
Revises: 0014_reports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0014_planning"
down_revision = "0014_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "planning_figures",
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("velocity", sa.Float(), nullable=False),
        sa.Column("deviation", sa.Float(), nullable=False),
        sa.Column("days_observed", sa.Integer(), nullable=False),
        sa.Column("dynamic_safety_stock", sa.Integer(), nullable=False),
        sa.Column("computed_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["variant_id"], ["variants.id"],
                                name=op.f("fk_planning_figures_variant_id_variants"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("variant_id", name=op.f("pk_planning_figures")),
    )


def downgrade() -> None:
    op.drop_table("planning_figures")
