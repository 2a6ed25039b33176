"""The simulated store's records: plain dataclasses, global ids and timestamps.

Quantities follow Shopify's inventory states: a level keeps `on_hand` and `committed`;
`available` is derived (`on_hand - committed`), so an order that commits a unit lowers
`available` and leaves `on_hand` alone, and a fulfilment lowers both stored values.
Timestamps have whole-second precision, as Shopify returns them and filters on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

GID_PREFIX = "gid://shopify/"


def gid(kind: str, number: int) -> str:
    """`gid://shopify/Product/123` for ("Product", 123)."""
    return f"{GID_PREFIX}{kind}/{number}"


def parse_gid(value: str, kind: str | None = None) -> int | None:
    """The numeric id in a global id of `kind`, or None when it is not one."""
    if not value.startswith(GID_PREFIX):
        return None
    found_kind, _, rest = value[len(GID_PREFIX):].partition("/")
    number = rest.split("?", 1)[0]
    if (kind and found_kind != kind) or not number.isdigit():
        return None
    return int(number)


def gid_kind(value: str) -> str | None:
    if not value.startswith(GID_PREFIX):
        return None
    return value[len(GID_PREFIX):].partition("/")[0] or None


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    """Shopify's GraphQL DateTime shape: `2026-04-01T12:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


@dataclass
class Location:
    id: int
    name: str
    created_at: datetime
    active: bool = True


@dataclass
class Level:
    on_hand: int
    committed: int = 0
    updated_at: datetime = field(default_factory=now)

    @property
    def available(self) -> int:
        return self.on_hand - self.committed

    def quantities(self) -> dict[str, int]:
        return {"available": self.available, "on_hand": self.on_hand, "committed": self.committed,
                "incoming": 0, "reserved": 0}


@dataclass
class InventoryItem:
    id: int
    variant_id: int
    tracked: bool
    created_at: datetime
    updated_at: datetime
    levels: dict[int, Level] = field(default_factory=dict)  # by location id


@dataclass
class Variant:
    id: int
    product_id: int
    inventory_item_id: int
    title: str
    option: str
    sku: str | None
    barcode: str | None
    price: Decimal
    compare_at_price: Decimal | None
    position: int
    created_at: datetime
    updated_at: datetime
    inventory_policy: str = "DENY"


@dataclass
class Product:
    id: int
    title: str
    handle: str
    status: str
    vendor: str
    product_type: str
    created_at: datetime
    updated_at: datetime
    option_name: str = "Title"
    tags: list[str] = field(default_factory=list)
    variant_ids: list[int] = field(default_factory=list)


@dataclass
class LineItem:
    id: int
    variant_id: int | None
    product_id: int | None
    sku: str | None
    title: str
    variant_title: str
    quantity: int
    price: Decimal
    fulfilled: int = 0
    removed_unfulfilled: int = 0  # cancelled or refunded before shipping
    refunded_fulfilled: int = 0   # returned after shipping

    @property
    def current_quantity(self) -> int:
        return self.quantity - self.removed_unfulfilled - self.refunded_fulfilled

    @property
    def unfulfilled(self) -> int:
        return self.quantity - self.fulfilled - self.removed_unfulfilled


@dataclass
class FulfillmentOrder:
    id: int
    order_id: int
    location_id: int
    line_item_ids: dict[int, int]  # fulfillment-order line item id -> order line item id
    created_at: datetime
    updated_at: datetime
    status: str = "OPEN"


@dataclass
class Fulfillment:
    id: int
    order_id: int
    fulfillment_order_id: int
    location_id: int
    name: str
    lines: list[tuple[int, int, int]]  # (fulfillment line item id, order line item id, quantity)
    tracking: list[dict[str, str | None]]
    notify_customer: bool
    created_at: datetime
    updated_at: datetime
    status: str = "SUCCESS"


@dataclass
class RefundLine:
    id: int
    line_item_id: int
    quantity: int
    restock_type: str  # RETURN | CANCEL | NO_RESTOCK
    location_id: int | None


@dataclass
class Refund:
    id: int
    order_id: int
    lines: list[RefundLine]
    note: str | None
    created_at: datetime


@dataclass
class Order:
    id: int
    number: int
    email: str | None
    customer: dict[str, Any] | None
    currency: str
    line_items: list[LineItem]
    created_at: datetime
    updated_at: datetime
    financial_status: str = "PAID"
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    fulfillment_order_ids: list[int] = field(default_factory=list)
    fulfillment_ids: list[int] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"#{self.number}"

    def total(self) -> Decimal:
        return sum((li.price * li.quantity for li in self.line_items), Decimal("0"))

    def fulfillment_status(self) -> str:
        """OrderDisplayFulfillmentStatus from the line items."""
        shipped = sum(li.fulfilled for li in self.line_items)
        waiting = sum(li.unfulfilled for li in self.line_items)
        if shipped and not waiting:
            return "FULFILLED"
        if shipped:
            return "PARTIALLY_FULFILLED"
        if self.cancelled_at and any(r.restock_type != "NO_RESTOCK" for f in self.refunds for r in f.lines):
            return "RESTOCKED"
        return "UNFULFILLED"


@dataclass
class Subscription:
    id: int
    topic: str  # enum name, e.g. ORDERS_CREATE
    uri: str
    format: str
    created_at: datetime
    updated_at: datetime
    include_fields: list[str] = field(default_factory=list)

    @property
    def topic_path(self) -> str:
        """`orders/create` for ORDERS_CREATE, `inventory_levels/update` for INVENTORY_LEVELS_UPDATE."""
        head, _, tail = self.topic.lower().rpartition("_")
        return f"{head}/{tail}"
