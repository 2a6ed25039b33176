"""accounts: last success and last error of the account's periodic work (polls, pushes, reconciles)

Revision ID: 0016_account_health
Revises: 0015_listing_tracked
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0016_account_health"
down_revision = "0015_listing_tracked"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("last_success_at", store.types.UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error_at", store.types.UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("last_error")
        batch.drop_column("last_error_at")
        batch.drop_column("last_success_at")
