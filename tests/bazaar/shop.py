"""Bazaar's state: items with SKUs, stock tasks applied later, orders, shipments (no I/O).

Bazaar is a made-up marketplace the tests use to prove that a platform needs nothing outside its
own package: stock only moves by deltas (each under a request id, applied once), a delta is a
task the shop applies a moment later (`TASK_DELAY_S`), and order lists come newest first.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.catalogue import SeedSpec, seed_variants
from sandbox.interface import HUB_SOURCE, OutOfStock, SimulatorError
from sandbox.runtime import WriteLog

TASK_DELAY_S = 0.3
CARRIERS = {"sf-express": "SF Express 顺丰", "dhl": "DHL", "ups": "UPS"}


@dataclass
class Sku:
    sku_id: int
    item_id: int
    code: str
    barcode: str | None
    title: str
    price: Decimal
    stock: int


@dataclass
class Item:
    item_id: int
    title: str
    sku_ids: list[int]
    updated: float


@dataclass
class Order:
    order_id: int
    lines: list[tuple[int, int]]  # (sku id, quantity)
    buyer: str
    created: float
    updated: float
    state: str = "paid"           # paid, shipped, cancelled
    refunds: list[tuple[int, int, bool]] = field(default_factory=list)  # (sku id, quantity, restocked)


@dataclass
class Task:
    task_id: str
    sku_id: int
    delta: int
    request_id: str
    due: float
    state: str = "pending"        # pending, done, failed
    stock: int | None = None
    reason: str = ""


@dataclass
class Shipment:
    order_id: int
    carrier: str
    tracking: str


class BazaarShop:
    """One Bazaar seller; every method takes the lock itself."""

    def __init__(self, writes: WriteLog) -> None:
        self.lock = threading.RLock()
        self.writes = writes
        self.items: dict[int, Item] = {}
        self.skus: dict[int, Sku] = {}
        self.orders: dict[int, Order] = {}
        self.tasks: dict[str, Task] = {}
        self.requests_seen: dict[str, str] = {}  # request id -> task id: a repeat is the same task
        self.shipments: list[Shipment] = []
        self._ids = itertools.count(1)

    # ---- catalogue -----------------------------------------------------------------------------
    def seed(self, spec: SeedSpec) -> dict[str, Any]:
        with self.lock:
            self.items.clear()
            self.skus.clear()
            self.orders.clear()
            self.tasks.clear()
            self.requests_seen.clear()
            self.shipments.clear()
            now = time.time()
            for row in seed_variants(spec):
                item_id = 7000 + row.product_index
                item = self.items.setdefault(item_id, Item(item_id, row.product_title, [], now))
                sku = Sku(90_000 + len(self.skus) + 1, item_id, row.sku, row.barcode, row.variant_title, row.price,
                          row.stock)
                self.skus[sku.sku_id] = sku
                item.sku_ids.append(sku.sku_id)
            return {"items": len(self.items), "skus": len(self.skus)}

    def by_code(self, code: str) -> Sku | None:
        return next((sku for sku in self.skus.values() if sku.code == code), None)

    def _record(self, sku: Sku, source: str, change: int) -> None:
        self.writes.record("stock", platform="bazaar", sku=sku.code, sku_id=sku.sku_id, source=source,
                           available=sku.stock, change=change)

    def _touch(self, sku: Sku) -> None:
        self.items[sku.item_id].updated = time.time()

    # ---- stock tasks ---------------------------------------------------------------------------
    def submit(self, sku_id: int, delta: int, request_id: str) -> Task:
        """A delta to apply a moment later; the same request id is the same task (applied once)."""
        with self.lock:
            if sku_id not in self.skus:
                raise KeyError(sku_id)
            if request_id in self.requests_seen:
                return self.tasks[self.requests_seen[request_id]]
            task = Task(f"T{next(self._ids):06d}", sku_id, delta, request_id, time.monotonic() + TASK_DELAY_S)
            self.tasks[task.task_id] = task
            self.requests_seen[request_id] = task.task_id
            return task

    def run_due_tasks(self) -> None:
        with self.lock:
            now = time.monotonic()
            for task in self.tasks.values():
                if task.state == "pending" and task.due <= now:
                    sku = self.skus[task.sku_id]
                    if sku.stock + task.delta < 0:
                        task.state, task.reason = "failed", f"stock {sku.stock} cannot go down by {-task.delta}"
                        continue
                    sku.stock += task.delta
                    self._touch(sku)
                    self._record(sku, HUB_SOURCE, task.delta)
                    task.state, task.stock = "done", sku.stock

    def task(self, task_id: str) -> Task | None:
        self.run_due_tasks()
        with self.lock:
            return self.tasks.get(task_id)

    def merchant_stock(self, code: str, quantity: int | None, delta: int | None) -> None:
        with self.lock:
            sku = self._sku(code)
            change = (quantity - sku.stock) if quantity is not None else int(delta or 0)
            if sku.stock + change < 0:
                raise SimulatorError(f"bazaar: stock of {code} cannot go below 0")
            sku.stock += change
            self._touch(sku)
            self._record(sku, "merchant", change)

    def _sku(self, code: str) -> Sku:
        sku = self.by_code(code)
        if sku is None:
            raise SimulatorError(f"bazaar: no SKU {code!r}")
        return sku

    # ---- orders --------------------------------------------------------------------------------
    def place(self, lines: Sequence[tuple[str, int]], buyer: str) -> Order:
        with self.lock:
            wanted = [(self._sku(code), int(quantity)) for code, quantity in lines]
            if not wanted or any(quantity <= 0 for _, quantity in wanted):
                raise SimulatorError("bazaar: an order needs lines with positive quantities")
            short = [sku.code for sku, quantity in wanted if sku.stock < quantity]
            if short:
                raise OutOfStock(f"bazaar: not enough stock for {', '.join(short)}")
            now = time.time()
            order = Order(next(self._ids) + 500_000, [(sku.sku_id, q) for sku, q in wanted], buyer, now, now)
            for sku, quantity in wanted:
                sku.stock -= quantity
                self._touch(sku)
                self._record(sku, "buyer", -quantity)
            self.orders[order.order_id] = order
            return order

    def order(self, order_id: int) -> Order:
        with self.lock:
            if order_id not in self.orders:
                raise SimulatorError(f"bazaar: no order {order_id}")
            return self.orders[order_id]

    def cancel(self, order_id: int, restock: bool) -> None:
        with self.lock:
            order = self.order(order_id)
            if order.state != "paid":
                raise SimulatorError(f"bazaar: order {order_id} is {order.state}")
            order.state, order.updated = "cancelled", time.time()
            if restock:
                for sku_id, quantity in order.lines:
                    self._give_back(self.skus[sku_id], quantity)

    def refund(self, order_id: int, lines: Sequence[tuple[str, int]] | None, restock: bool) -> None:
        with self.lock:
            order = self.order(order_id)
            wanted = {sku_id: q for sku_id, q in order.lines} if lines is None else \
                {self._sku(code).sku_id: int(q) for code, q in lines}
            for sku_id, quantity in wanted.items():
                order.refunds.append((sku_id, quantity, restock))
                if restock:
                    self._give_back(self.skus[sku_id], quantity)
            order.updated = time.time()

    def _give_back(self, sku: Sku, quantity: int) -> None:
        sku.stock += quantity
        self._touch(sku)
        self._record(sku, "buyer", quantity)

    def ship(self, order_id: int, carrier: str, tracking: str) -> Shipment:
        with self.lock:
            order = self.order(order_id)
            if carrier not in CARRIERS:
                raise ValueError(f"unknown carrier {carrier!r}; known: {', '.join(sorted(CARRIERS))}")
            existing = next((s for s in self.shipments if s.order_id == order_id and s.tracking == tracking), None)
            if existing is not None:
                return existing
            shipment = Shipment(order_id, carrier, tracking)
            self.shipments.append(shipment)
            order.state, order.updated = "shipped", time.time()
            return shipment

    def search(self, start: float, end: float) -> list[Order]:
        """Orders updated in [start, end), newest first (how Bazaar lists them)."""
        with self.lock:
            found = [o for o in self.orders.values() if start <= o.updated < end]
            return sorted(found, key=lambda o: (o.updated, o.order_id), reverse=True)
