"""engine: per-account push claims, stale reads waiting for their check, failing accounts

Revision ID: 0020_engine
Revises: 0019_webhook_identity, 0016_account_health (merges the two lines)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0020_engine"
down_revision = ("0019_webhook_identity", "0016_account_health")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_claims",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("requested", sa.Boolean(), nullable=False),
        sa.Column("queued_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_push_claims_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_push_claims")),
    )
    op.create_table(
        "stale_reads",
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("seen_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_stale_reads_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"], name=op.f("fk_stale_reads_listing_id_listings"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("listing_id", name=op.f("pk_stale_reads")),
    )
    op.create_index(op.f("ix_stale_reads_account_id"), "stale_reads", ["account_id"], unique=False)
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failing_since", store.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failure", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("failure")
        batch_op.drop_column("failing_since")
    op.drop_index(op.f("ix_stale_reads_account_id"), table_name="stale_reads")
    op.drop_table("stale_reads")
    op.drop_table("push_claims")
