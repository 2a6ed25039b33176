"""The hub's tables (SQLAlchemy 2, typed). Alembic migrations in store/migrations follow these."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
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


class Listing(Timestamps, Base):
    """A channel's listing of a variant, and the stock the hub wants it to show."""

    __tablename__ = "listings"
    __table_args__ = (UniqueConstraint("account_id", "external_variant_id"),
                      Index("ix_listings_push", "account_id", "push_pending"))
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
    __table_args__ = (Index("ix_stock_movements_variant_created", "variant_id", "created_at"),)
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
    __table_args__ = (UniqueConstraint("account_id", "external_id"),)
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
    # One open conflict per subject: e.g. "unmatched:3:gid://shopify/ProductVariant/9".
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
    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(50))
    event_id: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


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
