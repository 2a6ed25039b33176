"""webhook identity: event ids unique per account, body digests for replays, the event's order reference

Revision ID: 0019_webhook_identity
Revises: 0018_stock_writes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_webhook_identity"
down_revision = "0018_stock_writes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("order_reference", sa.String(length=255), nullable=True))
        batch_op.drop_constraint("uq_webhook_events_platform", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_webhook_events_account_id"), ["account_id", "event_id"])
        batch_op.create_index("ix_webhook_events_account_digest", ["account_id", "body_digest"], unique=False)


def downgrade() -> None:
    # Ids that two accounts share cannot go back under (platform, event_id): the later copies go.
    op.execute("DELETE FROM webhook_events WHERE id NOT IN "
               "(SELECT MIN(id) FROM webhook_events GROUP BY platform, event_id)")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_events_account_digest")
        batch_op.drop_constraint("uq_webhook_events_account_id", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_webhook_events_platform"), ["platform", "event_id"])
        batch_op.drop_column("order_reference")
        batch_op.drop_column("body_digest")
