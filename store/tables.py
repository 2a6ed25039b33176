"""The hub's tables (SQLAlchemy 2, typed). Alembic migrations in store/migrations follow these."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.types import DecimalText, UtcDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, Decimal: DecimalText, dict[str, Any]: JSON,
                           list[Any]: JSON}


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Account(Timestamps, Base):
    """A connected store account on one platform. Secrets are Fernet-encrypted."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    platform: Mapped[str] = mapped_column(String(50))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secrets: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The account's periodic work (polls, pushes, reconciles): when it last succeeded, its last error.
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    # Set when the platform refused the account's credentials: its jobs stop until it works again.
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    failure: Mapped[str | None] = mapped_column(Text, default=None)


class PushClaim(Base):
    """Who pushes an account's stock now, and whether a push was asked for meanwhile.

    `requested`: a change wants a push; `queued_at`: a push job was enqueued and has not started;
    `holder` / `claimed_at`: the job draining the account and when it last renewed its lease.
    """

    __tablename__ = "push_claims"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    requested: Mapped[bool] = mapped_column(Boolean, default=False)
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    holder: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)


class ShipmentClaim(Base):
    """Who pushes an account's pending shipments now (the same lease as `PushClaim`)."""

    __tablename__ = "shipment_claims"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    requested: Mapped[bool] = mapped_column(Boolean, default=False)
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    holder: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)


class StaleRead(Base):
    """A compare-and-swap write refused as stale: the channel's number, waiting for the stale check."""

    __tablename__ = "stale_reads"
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    observed: Mapped[int] = mapped_column(Integer)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Location(Timestamps, Base):
    """A hub location (warehouse)."""

    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")


class ChannelLocation(Timestamps, Base):
    """A channel's location, and the hub location it draws stock from (None = not used)."""

    __tablename__ = "channel_locations"
    __table_args__ = (UniqueConstraint("account_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), default=None)


class Product(Timestamps, Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    vendor: Mapped[str] = mapped_column(String(255), default="")
    product_type: Mapped[str] = mapped_column(String(255), default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="active")


class Variant(Timestamps, Base):
    __tablename__ = "variants"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(255), unique=True)
    barcode: Mapped[str | None] = mapped_column(String(14), index=True, default=None)
    title: Mapped[str] = mapped_column(String(500), default="")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    price: Mapped[Decimal | None] = mapped_column(default=None)
    compare_at_price: Mapped[Decimal | None] = mapped_column(default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    tracked: Mapped[bool] = mapped_column(Boolean, default=True)
    safety_stock: Mapped[int | None] = mapped_column(Integer, default=None)


class VariantSupply(Timestamps, Base):
    """What the merchant pays for a variant and where it comes from (`marketsync supply import`)."""

    __tablename__ = "variant_supply"
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True)
    cost_price: Mapped[Decimal | None] = mapped_column(default=None)
    cost_currency: Mapped[str | None] = mapped_column(String(3), default=None)
    supplier: Mapped[str | None] = mapped_column(String(255), default=None)
    lead_time_days: Mapped[int | None] = mapped_column(Integer, default=None)


class KitComponent(Timestamps, Base):
    """One component of a kit: `quantity` units of `component_variant_id` per unit of the kit (`sync.stock.kits`).

    A kit is a hub variant with component rows; it holds no stock of its own."""

    __tablename__ = "kit_components"
    kit_variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True)
    component_variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), primary_key=True, index=True)
    quantity: Mapped[int] = mapped_column(Integer)


class PlanningFigures(Base):
    """A variant's demand figures as last computed (`marketsync planning refresh`, periodically).

    The quantity rules read `dynamic_safety_stock` when `planning.safety_stock_mode = "dynamic"`:
    a movement must not wait for a window of ledger sums, so the figure is computed ahead."""

    __tablename__ = "planning_figures"
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True)
    velocity: Mapped[float] = mapped_column(Float, default=0.0)
    deviation: Mapped[float] = mapped_column(Float, default=0.0)
    days_observed: Mapped[int] = mapped_column(Integer, default=0)
    dynamic_safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Listing(Timestamps, Base):
    """A channel's listing of a variant, and the stock the hub wants it to show."""

    __tablename__ = "listings"
    __table_args__ = (UniqueConstraint("account_id", "external_variant_id"),
                      Index("ix_listings_push", "account_id", "push_pending"),
                      Index("ix_listings_inventory_item", "account_id", "external_inventory_item_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"), index=True, default=None)
    external_product_id: Mapped[str] = mapped_column(String(255))
    external_variant_id: Mapped[str] = mapped_column(String(255))
    external_inventory_item_id: Mapped[str | None] = mapped_column(String(255), default=None)
    channel_sku: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    channel_barcode: Mapped[str | None] = mapped_column(String(14), default=None)
    title: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")
    # False when the channel does not manage stock for it (gift cards, digital goods): never pushed.
    tracked: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The values last synced in either direction, per field: detects a change on both sides.
    synced_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    desired_quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    acknowledged_quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    push_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)


class StockLevel(Base):
    __tablename__ = "stock_levels"
    __table_args__ = (UniqueConstraint("variant_id", "location_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    committed: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StockMovement(Base):
    """One change to a stock level. The idempotency key makes a repeat a no-op."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_variant_created", "variant_id", "created_at"),
                      Index("ix_stock_movements_reference", "reference"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    committed_delta: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(255), default="")
    reference: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Timestamps, Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("account_id", "external_id"), Index("ix_orders_placed_at", "placed_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    external_id: Mapped[str] = mapped_column(String(255))
    number: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal | None] = mapped_column(default=None)
    placed_at: Mapped[datetime]
    channel_updated_at: Mapped[datetime]
    # Personal fields: the least the work needs, removed by `privacy purge`.
    customer_name: Mapped[str | None] = mapped_column(String(255), default=None)
    customer_email: Mapped[str | None] = mapped_column(String(255), default=None)
    customer_country: Mapped[str | None] = mapped_column(String(2), default=None)
    purged_at: Mapped[datetime | None] = mapped_column(default=None)
    # The customer for reports: a salted hash of the email or the platform's buyer id (never plain).
    customer_key: Mapped[str | None] = mapped_column(String(64), default=None)
    # Σ of the channel's refunds on this order (its currency); lines refunded are in order_lines.
    refunded_total: Mapped[Decimal | None] = mapped_column(default=None)
    # What the channel last reported beyond the columns (refund lines, per-line cancelled units,
    # channel variant ids): lets held lines take effect later without asking the channel again.
    channel_state: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"), default=None)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"), index=True, default=None)
    sku: Mapped[str | None] = mapped_column(String(255), default=None)
    title: Mapped[str] = mapped_column(String(500), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    cancelled_quantity: Mapped[int] = mapped_column(Integer, default=0)
    shipped_quantity: Mapped[int] = mapped_column(Integer, default=0)
    restocked_quantity: Mapped[int] = mapped_column(Integer, default=0)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
    unit_price: Mapped[Decimal | None] = mapped_column(default=None)
    # True while the line's listing is unmapped: its stock effect waits for the conflict.
    held: Mapped[bool] = mapped_column(Boolean, default=False)


class Shipment(Timestamps, Base):
    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    carrier: Mapped[str] = mapped_column(String(100))
    tracking_number: Mapped[str] = mapped_column(String(255))
    tracking_url: Mapped[str | None] = mapped_column(String(1000), default=None)
    source: Mapped[str] = mapped_column(String(255), default="")
    push_status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    push_attempts: Mapped[int] = mapped_column(Integer, default=0)
    push_error: Mapped[str | None] = mapped_column(Text, default=None)
    pushed_at: Mapped[datetime | None] = mapped_column(default=None)
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)


class ShipmentLine(Base):
    __tablename__ = "shipment_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    quantity: Mapped[int] = mapped_column(Integer)


class Conflict(Timestamps, Base):
    """Something the hub will not guess about; an operator resolves it."""

    __tablename__ = "conflicts"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    # One open conflict per subject: e.g. "unmatched:{account id}:{external variant id}".
    subject: Mapped[str] = mapped_column(String(500), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), default=None)
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="SET NULL"), default=None)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="SET NULL"), default=None)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id", ondelete="SET NULL"),
                                                      default=None)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    suggestions: Mapped[list[Any]] = mapped_column(default=list)
    resolution: Mapped[str | None] = mapped_column(String(40), default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(255), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)


class Cursor(Base):
    __tablename__ = "cursors"
    __table_args__ = (UniqueConstraint("account_id", "stream"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookEvent(Base):
    """A verified delivery: unique per account by the platform's event id (two tenants may share ids).

    `body_digest` (SHA-256 of the raw body) catches a captured body re-sent under a new event id;
    `order_reference` is what the event is about, kept so the job never needs the raw payload.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("account_id", "event_id"),
                      Index("ix_webhook_events_account_digest", "account_id", "body_digest"))
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(50))
    event_id: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    body_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    order_reference: Mapped[str | None] = mapped_column(String(255), default=None)
    # received → processed | failed | ignored, or received → reading (handed to its own read job) → …
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


EVENTS_UNDONE = ("received", "reading")  # webhook event statuses the hub is not done with yet


class SyncRun(Base):
    __tablename__ = "sync_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), default=None)
    status: Mapped[str] = mapped_column(String(20), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(500))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Alert(Base):
    """Something that needs attention; at most one open alert per subject (a partial unique index)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("uq_alerts_open_subject", "subject", unique=True,
                            sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
                      Index("ix_alerts_status_opened", "status", "opened_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="open")
    severity: Mapped[str] = mapped_column(String(20), default="warning")
    sku: Mapped[str | None] = mapped_column(String(255), default=None)
    account: Mapped[str | None] = mapped_column(String(100), default=None)
    message: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class AlertDelivery(Base):
    """One alert event (opened or closed) to one destination, sent once, retried until it lands."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "destination", "event"),
                      Index("ix_alert_deliveries_due", "status", "next_attempt_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    destination: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class Return(Base):
    """One after-sale of one order line: a return, an exchange or a refund only (`sync.aftersales`)."""

    __tablename__ = "returns"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"), default=None)
    quantity: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(255), default="")
    # `channel:{account}:{refund}:{line}` or `hand:{…}`: the same after-sale seen twice is one return.
    external_key: Mapped[str] = mapped_column(String(500), unique=True)
    replacement_variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"), default=None)
    replacement_status: Mapped[str | None] = mapped_column(String(20), default=None)
    history: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockWrite(Base):
    """A stock write to a listing that is out and not yet applied (`sync.stock.writes`).

    `sending`: a DELTA write under `idempotency_id` is on its way. `undecided`: it went out and no
    answer came; it is never sent again, and a read-back of the channel (`sync.stock.readback`)
    tells applied from not applied. `submitted`: the platform accepted
    it for later processing under `handle`; `sync.stock.confirm` asks until it is applied or
    rejected. At most one per listing; the row goes once the write is settled.
    """

    __tablename__ = "stock_writes"
    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    base_quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    delta: Mapped[int | None] = mapped_column(Integer, default=None)
    idempotency_id: Mapped[str | None] = mapped_column(String(100), default=None)
    handle: Mapped[str | None] = mapped_column(String(255), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
