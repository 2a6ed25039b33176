"""The records a simulated WooCommerce store keeps, as plain dataclasses.

Products, variations and orders share one id sequence, as WordPress posts do; order line
items, notes (comments), meta rows and webhooks have their own sequences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

STOCK_STATUSES = ("instock", "outofstock", "onbackorder")
BACKORDERS = ("no", "notify", "yes")
PRODUCT_STATUSES = ("draft", "pending", "private", "publish")
ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
ORDER_STATUS_LABELS = {
    "pending": "Pending payment", "processing": "Processing", "on-hold": "On hold",
    "completed": "Completed", "cancelled": "Cancelled", "refunded": "Refunded", "failed": "Failed",
}
# WooCommerce reduces stock when an order enters one of these and restores it on cancelled/pending.
STOCK_REDUCING_STATUSES = ("processing", "completed", "on-hold")
WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted",
                  "product.created", "product.updated", "product.deleted")
WEBHOOK_STATUSES = ("active", "paused", "disabled")


@dataclass
class Product:
    """A simple or variable product, or a variation (type "variation", parent_id set)."""

    id: int
    type: str
    name: str
    slug: str
    created: datetime
    modified: datetime
    parent_id: int = 0
    sku: str = ""
    global_unique_id: str = ""
    regular_price: str = ""
    sale_price: str = ""
    status: str = "publish"
    manage_stock: bool = False
    stock_quantity: int | None = None
    backorders: str = "no"
    manual_stock_status: str = "instock"
    total_sales: int = 0
    option: str = ""  # a variation's "Size" value
    variation_ids: list[int] = field(default_factory=list)
    meta_data: list[dict[str, Any]] = field(default_factory=list)

    @property
    def price(self) -> str:
        return self.sale_price or self.regular_price

    @property
    def backorders_allowed(self) -> bool:
        return self.backorders in ("notify", "yes")

    @property
    def stock_status(self) -> str:
        """Derived like WooCommerce: at or below zero is out of stock unless backorders are allowed."""
        if self.manage_stock and self.stock_quantity is not None:
            if self.stock_quantity > 0:
                return "instock"
            return "onbackorder" if self.backorders_allowed else "outofstock"
        return self.manual_stock_status


@dataclass
class LineItem:
    id: int
    product_id: int
    variation_id: int
    name: str
    sku: str
    quantity: int
    price: Decimal
    option: str = ""
    reduced_stock: int = 0  # what this line took from stock (WooCommerce's `_reduced_stock` meta)
    refunded_quantity: int = 0

    @property
    def total(self) -> Decimal:
        return self.price * self.quantity


@dataclass
class Refund:
    id: int
    reason: str
    amount: Decimal
    created: datetime
    lines: dict[int, int] = field(default_factory=dict)  # line item id -> quantity


@dataclass
class Note:
    id: int
    order_id: int
    note: str
    customer_note: bool
    created: datetime
    author: str = "system"


@dataclass
class Tracking:
    tracking_id: str
    provider: str
    link: str
    number: str
    date_shipped: str


@dataclass
class Order:
    id: int
    order_key: str
    status: str
    currency: str
    created: datetime
    modified: datetime
    billing: dict[str, str]
    shipping: dict[str, str]
    line_items: list[LineItem]
    created_via: str = "checkout"
    customer_note: str = ""
    date_paid: datetime | None = None
    date_completed: datetime | None = None
    stock_reduced: bool = False  # WooCommerce's `_order_stock_reduced`
    refunds: list[Refund] = field(default_factory=list)
    trackings: list[Tracking] = field(default_factory=list)
    meta_data: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.line_items), Decimal("0"))


@dataclass
class Webhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    status: str
    created: datetime
    modified: datetime
    failure_count: int = 0
    deliveries: int = 0
