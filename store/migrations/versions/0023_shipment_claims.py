"""shipment claims: one job pushes an account's pending shipments, in one drain

Revision ID: 0023_shipment_claims
Revises: 0022_movement_reference

Issue 15: every shipment had a push job of its own on the orders queue, one API call after the
other behind webhook events and order polls; in the chaos run 406 of 721 shipments were still
pending at the deadline. An account's shipments are now drained by one job holding this claim
(the same lease as `push_claims`, `sync.stock.push_queue`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0023_shipment_claims"
down_revision = "0022_movement_reference"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shipment_claims",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("requested", sa.Boolean(), nullable=False),
        sa.Column("queued_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_shipment_claims_account_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_shipment_claims")),
    )


def downgrade() -> None:
    op.drop_table("shipment_claims")
