"""alerts: open and closed alerts (one open per subject) and their deliveries to destinations

Revision ID: 0014_alerts
Revises: 0014_planning
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0014_alerts"
down_revision = "0014_planning"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=True),
        sa.Column("account", sa.String(length=100), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("opened_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(op.f("ix_alerts_kind"), "alerts", ["kind"], unique=False)
    op.create_index("ix_alerts_status_opened", "alerts", ["status", "opened_at"], unique=False)
    op.create_index("uq_alerts_open_subject", "alerts", ["subject"], unique=True,
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_alert_deliveries_alert_id_alerts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
        sa.UniqueConstraint("alert_id", "destination", "event", name=op.f("uq_alert_deliveries_alert_id")),
    )
    op.create_index("ix_alert_deliveries_due", "alert_deliveries", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_index("uq_alerts_open_subject", table_name="alerts")
    op.drop_index("ix_alerts_status_opened", table_name="alerts")
    op.drop_index(op.f("ix_alerts_kind"), table_name="alerts")
    op.drop_table("alerts")
