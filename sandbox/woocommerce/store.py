"""The state of one simulated WooCommerce store: catalogue, stock, orders, webhooks.

Every mutation happens under `store.lock` (an RLock: the server thread and the caller's
thread both touch it). Stock writes are logged in the WriteLog and announced to listeners
(the webhook hub) as topics such as `product.updated`.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.catalogue import SeedSpec, SeedVariant, seed_variants
from sandbox.runtime import Clock, WriteLog
from sandbox.woocommerce.model import Note, Order, Product, Webhook

# How each route that changes stock is labelled in the write log (`sandbox.interface` conventions).
WRITE_SOURCES = {"batch": "api", "order": "buyer", "cancel": "buyer", "refund": "buyer"}

Listener = Callable[[str, int, dict[str, Any] | None], None]


class OutOfStock(Exception):
    """A buyer order asked for more than a product that refuses backorders holds."""


class UnknownSku(KeyError):
    """No product or variation carries this SKU."""


class WooStore:
    """In-memory WooCommerce data with WooCommerce's stock and date rules."""

    def __init__(self, *, clock: Clock, writes: WriteLog, currency: str = "EUR",
                 gmt_offset_hours: float = 2.0) -> None:
        self.lock = threading.RLock()
        self.clock, self.writes, self.currency = clock, writes, currency
        self.gmt_offset = timedelta(hours=gmt_offset_hours)
        self.base_url = "http://127.0.0.1"
        self.listeners: list[Listener] = []
        self.products: dict[int, Product] = {}
        self.orders: dict[int, Order] = {}
        self.notes: dict[int, list[Note]] = {}
        self.webhooks: dict[int, Webhook] = {}
        self._post_ids = itertools.count(100)
        self._item_ids = itertools.count(1)
        self._comment_ids = itertools.count(1)
        self._meta_ids = itertools.count(1000)
        self._webhook_ids = itertools.count(1)

    # ---- time and ids -------------------------------------------------------------------
    def now(self) -> datetime:
        """UTC now, to the second, as MySQL DATETIME columns keep it."""
        return self.clock.utcnow().replace(microsecond=0)

    def local(self, moment: datetime) -> datetime:
        """The site-local wall time for a UTC moment (WordPress's `gmt_offset`)."""
        return (moment.astimezone(UTC) + self.gmt_offset).replace(tzinfo=None)

    def post_id(self) -> int:
        return next(self._post_ids)

    def item_id(self) -> int:
        return next(self._item_ids)

    def comment_id(self) -> int:
        return next(self._comment_ids)

    def meta_id(self) -> int:
        return next(self._meta_ids)

    def webhook_id(self) -> int:
        return next(self._webhook_ids)

    # ---- events -------------------------------------------------------------------------
    def emit(self, topic: str, resource_id: int, payload: dict[str, Any] | None = None) -> None:
        """Tell listeners (webhooks) that `topic` happened to a resource; call under the lock."""
        for listener in list(self.listeners):
            listener(topic, resource_id, payload)

    # ---- catalogue ----------------------------------------------------------------------
    def clear(self) -> None:
        with self.lock:
            self.products.clear()
            self.orders.clear()
            self.notes.clear()

    def seed(self, spec: SeedSpec) -> None:
        """Replace catalogue and orders with the deterministic catalogue of `spec`."""
        with self.lock:
            self.clear()
            rows = seed_variants(spec)
            groups: dict[int, list[SeedVariant]] = {}
            for row in rows:
                groups.setdefault(row.product_index, []).append(row)
            # Older products first, a minute apart, so "orderby=date" has a real order.
            start = self.now() - timedelta(minutes=len(groups) + 1)
            for offset, group in enumerate(groups.values()):
                self._seed_product(group, start + timedelta(minutes=offset))

    def _seed_product(self, rows: list[SeedVariant], created: datetime) -> None:
        first = rows[0]
        kind = "variable" if len(rows) > 1 else "simple"
        product = Product(id=self.post_id(), type=kind, name=first.product_title,
                          slug=slugify(first.product_title), created=created, modified=created)
        self.products[product.id] = product
        if kind == "simple":
            self._apply_seed_stock(product, first)
            return
        for row in rows:
            variation = Product(id=self.post_id(), type="variation", parent_id=product.id,
                                name=f"{first.product_title} - {row.option}", slug="",
                                created=created, modified=created, option=row.option)
            self._apply_seed_stock(variation, row)
            self.products[variation.id] = variation
            product.variation_ids.append(variation.id)

    @staticmethod
    def _apply_seed_stock(product: Product, row: SeedVariant) -> None:
        product.sku = row.sku
        product.global_unique_id = row.barcode or ""
        product.regular_price = f"{row.price:.2f}"
        product.manage_stock = True
        product.stock_quantity = row.stock

    def product(self, product_id: int) -> Product | None:
        """A product or a variation by id (trashed ones too)."""
        return self.products.get(product_id)

    def parents(self) -> list[Product]:
        return [p for p in self.products.values() if p.type != "variation"]

    def variations(self, parent: Product) -> list[Product]:
        return [self.products[i] for i in parent.variation_ids if i in self.products]

    def by_sku(self, sku: str) -> Product:
        for product in self.products.values():
            if product.sku and product.sku == sku and product.type != "variable":
                return product
        raise UnknownSku(sku)

    def sku_taken(self, sku: str, exclude: int | None = None) -> bool:
        return any(p.sku == sku and p.id != exclude for p in self.products.values() if sku)

    def parent_stock_status(self, parent: Product) -> str:
        """A variable product is in stock when any variation is (WooCommerce syncs this)."""
        statuses = {v.stock_status for v in self.variations(parent) if v.status == "publish"}
        for status in ("instock", "onbackorder"):
            if status in statuses:
                return status
        return "outofstock" if statuses else parent.manual_stock_status

    def stock_status(self, product: Product) -> str:
        return self.parent_stock_status(product) if product.type == "variable" else product.stock_status

    def touch(self, product: Product) -> None:
        """Advance `date_modified` of a product and, for a variation, of its parent."""
        product.modified = self.now()
        if product.parent_id and product.parent_id in self.products:
            self.products[product.parent_id].modified = product.modified

    # ---- stock --------------------------------------------------------------------------
    def write_stock(self, product: Product, quantity: int, *, source: str, announce: bool = True,
                    **detail: Any) -> None:
        """Set a managed stock level, log the write and (unless the caller will) announce it."""
        before = product.stock_quantity
        product.stock_quantity = quantity
        self.touch(product)
        # `source` in the shared interface's terms (api / buyer / merchant); `via` says which route.
        self.writes.record("stock", platform="woocommerce", sku=product.sku, product_id=product.id,
                           parent_id=product.parent_id, before=before, after=quantity, available=quantity,
                           source=WRITE_SOURCES.get(source, source), via=source, **detail)
        if announce:
            self.emit("product.updated", product.id)

    def merchant_stock(self, sku: str, *, quantity: int | None = None, delta: int | None = None) -> Product:
        """A merchant edits stock in wp-admin: enables stock management if it was off."""
        if (quantity is None) == (delta is None):
            raise ValueError("give exactly one of quantity or delta")
        with self.lock:
            product = self.by_sku(sku)
            product.manage_stock = True
            current = product.stock_quantity or 0
            target = quantity if quantity is not None else current + int(delta or 0)
            self.write_stock(product, int(target), source="merchant")
            return product

    def stock_of(self, sku: str) -> int | None:
        with self.lock:
            product = self.by_sku(sku)
            return product.stock_quantity if product.manage_stock else None

    # ---- webhooks -----------------------------------------------------------------------
    def add_webhook(self, *, name: str, topic: str, delivery_url: str, secret: str, status: str) -> Webhook:
        with self.lock:
            now = self.now()
            hook = Webhook(self.webhook_id(), name, topic, delivery_url, secret, status, now, now)
            self.webhooks[hook.id] = hook
            return hook

    def webhook(self, webhook_id: int) -> Webhook | None:
        return self.webhooks.get(webhook_id)

    def order(self, order_id: int) -> Order | None:
        return self.orders.get(order_id)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
