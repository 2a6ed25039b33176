"""The store's state: catalogue, locations, inventory levels and webhook subscriptions.

One re-entrant lock guards everything; the HTTP handlers hold it for a whole request so a
GraphQL document sees and changes the store atomically. Every inventory change goes through
`change_level`, which records it in the WriteLog and announces `inventory_levels/update`.
Order flows (buying, fulfilling, cancelling, refunding) live in `orders.py`.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.catalogue import SeedSpec, seed_variants
from sandbox.runtime import Faults, WriteLog
from sandbox.shopify.bulk import BulkOperations
from sandbox.shopify.model import Fulfillment as FulfillmentRecord
from sandbox.shopify.model import FulfillmentOrder as FulfillmentOrderRecord
from sandbox.shopify.model import (
    InventoryItem,
    Level,
    Location,
    Order,
    Product,
    Subscription,
    Variant,
    now,
)

Listener = Callable[[str, Any], None]

# First ids per kind: realistic magnitudes, deterministic for a given seed.
ID_BASES = {
    "product": 8_000_000_000, "variant": 44_000_000_000, "item": 46_000_000_000, "location": 70_000_000,
    "order": 6_000_000_000, "line": 15_000_000_000, "fo": 7_000_000_000, "foline": 16_000_000_000,
    "fulfillment": 5_000_000_000, "fline": 12_000_000_000, "refund": 900_000_000, "rline": 500_000_000,
    "webhook": 1_400_000_000, "group": 30_000_000_000,
}


class StoreError(ValueError):
    """A request the store refuses; `code` is a short machine-readable reason."""

    def __init__(self, message: str, code: str = "INVALID") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Change:
    """One quantity change applied to a level (feeds InventoryAdjustmentGroup.changes)."""
    item_id: int
    location_id: int
    name: str
    delta: int
    after: int


def handleize(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "product"


class Store:
    """Everything one simulated shop holds."""

    def __init__(self, *, shop: str, currency: str, writes: WriteLog, faults: Faults) -> None:
        self.lock = threading.RLock()
        self.bulk = BulkOperations()
        self.shop, self.currency, self.writes, self.faults = shop, currency, writes, faults
        self.listeners: list[Listener] = []
        self.subscriptions: dict[int, Subscription] = {}
        self._webhook_ids = itertools.count(ID_BASES["webhook"] + 1)
        self.clear()

    # -- setup -------------------------------------------------------------------------------
    def clear(self) -> None:
        with self.lock:
            self._ids = {kind: itertools.count(base + 1) for kind, base in ID_BASES.items()
                         if kind != "webhook"}
            self.locations: dict[int, Location] = {}
            self.products: dict[int, Product] = {}
            self.variants: dict[int, Variant] = {}
            self.items: dict[int, InventoryItem] = {}
            self.orders: dict[int, Order] = {}
            self.fulfillment_orders: dict[int, FulfillmentOrderRecord] = {}
            self.fulfillments: dict[int, FulfillmentRecord] = {}
            self.next_order_number = 1001
            # (mutation, idempotency key) -> (fingerprint of the arguments, first payload).
            # Ids restart with a new seed, so remembered answers would point at other objects.
            self.idempotency: dict[tuple[str, str], tuple[str, Any]] = {}

    def next_id(self, kind: str) -> int:
        if kind == "webhook":
            return next(self._webhook_ids)
        return next(self._ids[kind])

    def seed(self, spec: SeedSpec) -> None:
        """Replace the catalogue, stock and orders with `spec`'s; webhook subscriptions stay.

        The seed stock sits at the first location; other locations stock the item at 0.
        """
        with self.lock:
            self.clear()
            created = now()
            for index in range(max(spec.locations, 1)):
                location = Location(self.next_id("location"), f"Location {index + 1}", created)
                self.locations[location.id] = location
            by_product: dict[int, Product] = {}
            for row in seed_variants(spec):
                product = by_product.get(row.product_index)
                if product is None:
                    product = self.add_product(row.product_title, option_name="Size", status="ACTIVE")
                    by_product[row.product_index] = product
                self.add_variant(product, title=row.variant_title, sku=row.sku, barcode=row.barcode,
                                 price=row.price, stock=row.stock)

    # -- catalogue ---------------------------------------------------------------------------
    def add_product(self, title: str, *, status: str = "ACTIVE", vendor: str = "Marketsync Sandbox",
                    product_type: str = "", option_name: str = "Title", handle: str | None = None,
                    tags: list[str] | None = None) -> Product:
        with self.lock:
            moment = now()
            product = Product(self.next_id("product"), title, handle or self._unique_handle(title), status,
                              vendor, product_type, moment, moment, option_name, list(tags or []))
            self.products[product.id] = product
            return product

    def _unique_handle(self, title: str) -> str:
        base = handleize(title)
        taken = {p.handle for p in self.products.values()}
        candidates = itertools.chain([base], (f"{base}-{n}" for n in itertools.count(1)))
        return next(c for c in candidates if c not in taken)

    def add_variant(self, product: Product, *, title: str, sku: str | None, barcode: str | None,
                    price: Decimal, stock: int = 0, compare_at_price: Decimal | None = None,
                    inventory_policy: str = "DENY", tracked: bool = True,
                    stock_by_location: dict[int, int] | None = None) -> Variant:
        with self.lock:
            moment = now()
            variant_id, item_id = self.next_id("variant"), self.next_id("item")
            variant = Variant(variant_id, product.id, item_id, title, title, sku, barcode, price,
                              compare_at_price, len(product.variant_ids) + 1, moment, moment,
                              inventory_policy)
            item = InventoryItem(item_id, variant_id, tracked, moment, moment)
            for position, location_id in enumerate(self.locations):
                default = stock if position == 0 else 0
                item.levels[location_id] = Level((stock_by_location or {}).get(location_id, default))
            self.variants[variant_id] = variant
            self.items[item_id] = item
            product.variant_ids.append(variant_id)
            return variant

    def remove_variant(self, variant_id: int) -> None:
        with self.lock:
            variant = self.variants.pop(variant_id)
            self.items.pop(variant.inventory_item_id, None)
            self.products[variant.product_id].variant_ids.remove(variant_id)

    def variant_by_sku(self, sku: str) -> Variant:
        with self.lock:
            for variant in self.variants.values():
                if variant.sku == sku:
                    return variant
        raise StoreError(f"shop {self.shop}: no variant with SKU {sku!r}", "NOT_FOUND")

    def item_of(self, variant: Variant) -> InventoryItem:
        return self.items[variant.inventory_item_id]

    def product_variants(self, product: Product) -> list[Variant]:
        return [self.variants[v] for v in product.variant_ids if v in self.variants]

    def first_location_id(self) -> int:
        return next(iter(self.locations))

    def resolve_location(self, location: str | int | None) -> int:
        """A location by id, gid or name; the first location when None."""
        if location is None:
            return self.first_location_id()
        for loc in self.locations.values():
            if str(location) in (str(loc.id), f"gid://shopify/Location/{loc.id}", loc.name):
                return loc.id
        raise StoreError(f"shop {self.shop}: no location {location!r}", "NOT_FOUND")

    def touch_product(self, product: Product) -> None:
        product.updated_at = now()
        self.emit("PRODUCTS_UPDATE", product)

    # -- inventory ---------------------------------------------------------------------------
    def change_level(self, item: InventoryItem, location_id: int, *, on_hand_delta: int = 0,
                     committed_delta: int = 0, kind: str, source: str, **detail: Any) -> list[Change]:
        """Apply deltas to one level, log the write, announce it; returns the changes."""
        level = item.levels[location_id]
        available_before = level.available
        level.on_hand += on_hand_delta
        level.committed += committed_delta
        level.updated_at = item.updated_at = now()
        changes = [Change(item.id, location_id, "on_hand", on_hand_delta, level.on_hand),
                   Change(item.id, location_id, "committed", committed_delta, level.committed),
                   Change(item.id, location_id, "available", level.available - available_before,
                          level.available)]
        variant = self.variants[item.variant_id]
        self.writes.record(kind, source=source, shop=self.shop, sku=variant.sku,
                           inventory_item_id=f"gid://shopify/InventoryItem/{item.id}",
                           location_id=f"gid://shopify/Location/{location_id}",
                           available=level.available, on_hand=level.on_hand, committed=level.committed,
                           available_delta=level.available - available_before, **detail)
        if level.available != available_before:
            self.emit("INVENTORY_LEVELS_UPDATE", (item, location_id))
        return [c for c in changes if c.delta]

    def set_quantity(self, item: InventoryItem, location_id: int, state: str, target: int, *,
                     kind: str, source: str, **detail: Any) -> list[Change]:
        """Set `available` or `on_hand` (`state`) to `target`; the other moves by the same delta."""
        level = item.levels[location_id]
        current = level.available if state == "available" else level.on_hand
        return self.change_level(item, location_id, on_hand_delta=target - current, kind=kind,
                                 source=source, **detail)

    def quantities_by_sku(self, sku: str) -> dict[str, dict[str, int]]:
        with self.lock:
            item = self.item_of(self.variant_by_sku(sku))
            return {f"gid://shopify/Location/{loc}": {k: v for k, v in level.quantities().items()
                                                      if k in ("available", "on_hand", "committed")}
                    for loc, level in item.levels.items()}

    # -- events --------------------------------------------------------------------------------
    def emit(self, topic: str, subject: Any) -> None:
        for listener in self.listeners:
            listener(topic, subject)

    def subscriptions_for(self, topic: str) -> Iterator[Subscription]:
        return (s for s in list(self.subscriptions.values()) if s.topic == topic)
