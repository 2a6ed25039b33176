"""kits: components and quantities of kit variants

Revision ID: 0017_kits
Revises: 0014_returns
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0017_kits"
down_revision = "0014_returns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kit_components",
        sa.Column("kit_variant_id", sa.Integer(), nullable=False),
        sa.Column("component_variant_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("created_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["kit_variant_id"], ["variants.id"],
                                name=op.f("fk_kit_components_kit_variant_id_variants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["component_variant_id"], ["variants.id"],
                                name=op.f("fk_kit_components_component_variant_id_variants")),
        sa.PrimaryKeyConstraint("kit_variant_id", "component_variant_id", name=op.f("pk_kit_components")),
    )
    op.create_index(op.f("ix_kit_components_component_variant_id"), "kit_components", ["component_variant_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_table("kit_components")
