"""listings indexed by (account, inventory item): `stock import` looks its levels' listings up a chunk at a time

Revision ID: 0024_listing_inventory_item
Revises: 0023_shipment_claims

`stock import` no longer holds every mapped listing of the account in memory; it finds the
listings of each chunk of channel levels by their inventory item id, which without an index
scanned all of the account's listings once a chunk.
"""

from __future__ import annotations

from alembic import op

revision = "0024_listing_inventory_item"
down_revision = "0023_shipment_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_listings_inventory_item", "listings", ["account_id", "external_inventory_item_id"])


def downgrade() -> None:
    op.drop_index("ix_listings_inventory_item", table_name="listings")
