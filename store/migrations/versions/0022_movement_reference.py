"""movement reference index: a receipt's reference check reads the ledger by reference

Revision ID: 0022_movement_reference
Revises: 0021_hot_levels

`stock receive` refuses a reference received before with other lines, so it reads the movements
of each reference in the file; without an index that read scanned the whole ledger, a cost that
grows with every movement the hub ever recorded.
"""

from __future__ import annotations

from alembic import op

revision = "0022_movement_reference"
down_revision = "0021_hot_levels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_stock_movements_reference", "stock_movements", ["reference"])


def downgrade() -> None:
    op.drop_index("ix_stock_movements_reference", table_name="stock_movements")
