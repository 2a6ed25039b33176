"""listings.tracked: whether the channel manages stock for the listing (untracked ones are never pushed)

Revision ID: 0015_listing_tracked
Revises: 0017_kits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_listing_tracked"
down_revision = "0017_kits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("tracked", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("tracked")
