"""The in-memory shop behind each pushed-event simulator.

One `Shop` holds products and SKUs, orders and after-sales in platform-neutral terms; each
platform package turns them into its own payloads and status codes. Stock is the number a buyer
can buy (these platforms take it when the buyer pays); `reserved` is the part of it held for a
platform activity, which the seller's API writes may not cut into. Every mutation happens under
`shop.lock` (an RLock: the server thread and the caller's thread both touch it), every stock
change goes to the `WriteLog`, and every change a platform would push about is announced to the
listeners as a `ShopEvent`.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sandbox.catalogue import SeedSpec, seed_variants
from sandbox.interface import HUB_SOURCE, OutOfStock, SimulatorError
from sandbox.pushshop.privacy import Receiver, fake_receiver
from sandbox.runtime import WriteLog

ORDER_CREATED = "order_created"
ORDER_PAID = "order_paid"
ORDER_SHIPPED = "order_shipped"
ORDER_CANCELLED = "order_cancelled"
ORDER_COMPLETED = "order_completed"
AFTERSALE_CREATED = "aftersale_created"
AFTERSALE_SUCCEEDED = "aftersale_succeeded"


class UnknownSku(SimulatorError):
    """No SKU of this shop carries the code or id."""


class UnknownOrder(SimulatorError):
    """No order of this shop has this id."""


class StockRefused(Exception):
    """An API stock write the platform refuses: it would cut into reserved stock or go below zero."""

    def __init__(self, sku: Sku, wanted: int) -> None:
        super().__init__(f"sku {sku.code}: {wanted} is below the reserved {sku.reserved}")
        self.sku, self.wanted = sku, wanted


@dataclass
class Sku:
    sku_id: int
    product_id: int
    code: str
    barcode: str | None
    option: str
    price: int  # in fen
    stock: int
    reserved: int = 0
    updated_at: float = 0.0


@dataclass
class Product:
    product_id: int
    title: str
    skus: list[Sku]
    created_at: float
    updated_at: float
    online: bool = True


@dataclass
class Line:
    line_id: int
    sku: Sku
    quantity: int
    price: int
    shipped: int = 0
    refunded: int = 0

    @property
    def unshipped(self) -> int:
        return max(self.quantity - self.shipped - self.refunded, 0)


@dataclass(frozen=True)
class Package:
    package_id: int
    tracking_number: str
    carrier: str
    lines: tuple[tuple[int, int], ...]  # (line_id, quantity)
    shipped_at: float


@dataclass
class Order:
    order_id: int
    buyer: str
    lines: list[Line]
    receiver: Receiver
    created_at: float
    updated_at: float
    state: str = "paid"  # paid | partially_shipped | shipped | completed | cancelled
    packages: list[Package] = field(default_factory=list)
    cancelled_at: float | None = None

    def line(self, line_id: int) -> Line:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise SimulatorError(f"order {self.order_id} has no line {line_id}")

    @property
    def total(self) -> int:
        return sum(line.price * line.quantity for line in self.lines)


@dataclass
class AfterSale:
    aftersale_id: int
    order: Order
    line: Line
    quantity: int
    amount: int
    kind: str  # refund_only | return_refund
    state: str  # requested | succeeded | closed
    created_at: float
    updated_at: float
    restocked: bool


@dataclass(frozen=True)
class ShopEvent:
    kind: str
    order: Order
    at: float
    aftersale: AfterSale | None = None
    package: Package | None = None


@dataclass(frozen=True)
class IdScheme:
    """Where each platform's ids start, so they look like the platform's (lengths, prefixes)."""

    product: int
    sku: int
    order: int
    line: int
    package: int = 1
    aftersale: int = 1


Listener = Callable[[list[ShopEvent]], None]


class Shop:
    """Catalogue, stock, orders and after-sales of one simulated shop."""

    def __init__(self, *, ids: IdScheme, writes: WriteLog, restock_paid_cancels: bool = True) -> None:
        """`restock_paid_cancels` False: cancels and refunds of paid orders never put stock back (微信小店)."""
        self.lock = threading.RLock()
        self.ids, self.writes = ids, writes
        self.restock_paid_cancels = restock_paid_cancels
        self.listeners: list[Listener] = []
        self._last_time = 0.0
        self.seed(SeedSpec(products=0))

    # ---- time, ids, catalogue ---------------------------------------------------------------
    def now(self) -> float:
        """Wall-clock seconds, strictly increasing so update order is never ambiguous."""
        with self.lock:
            self._last_time = max(time.time(), self._last_time + 0.000001)
            return self._last_time

    def seed(self, spec: SeedSpec) -> dict[str, int]:
        with self.lock:
            self.products: dict[int, Product] = {}
            self.skus: dict[int, Sku] = {}
            self.by_code: dict[str, Sku] = {}
            self.orders: dict[int, Order] = {}
            self.aftersales: dict[int, AfterSale] = {}
            counters = {name: itertools.count(getattr(self.ids, name))
                        for name in ("product", "sku", "order", "line", "package", "aftersale")}
            self._next = {name: counter.__next__ for name, counter in counters.items()}
            now = self.now()
            by_index: dict[int, Product] = {}
            for row in seed_variants(spec):
                product = by_index.get(row.product_index)
                if product is None:
                    product = Product(self._next["product"](), row.product_title, [], now, now)
                    by_index[row.product_index] = product
                    self.products[product.product_id] = product
                sku = Sku(self._next["sku"](), product.product_id, row.sku, row.barcode, row.option,
                          int(row.price * Decimal(100)), row.stock, updated_at=now)
                product.skus.append(sku)
                self.skus[sku.sku_id] = sku
                self.by_code[sku.code] = sku
            return {"products": len(self.products), "skus": len(self.skus)}

    def sku_by_code(self, code: str) -> Sku:
        try:
            return self.by_code[code]
        except KeyError:
            raise UnknownSku(f"unknown sku {code!r}") from None

    def order(self, order_id: int | str) -> Order:
        try:
            return self.orders[int(order_id)]
        except (KeyError, ValueError):
            raise UnknownOrder(f"unknown order {order_id!r}") from None

    # ---- buyers --------------------------------------------------------------------------------
    def place_order(self, lines: Sequence[tuple[str, int]], *, buyer: str, at: float | None = None) -> Order:
        """A paid order: its stock is taken now (OutOfStock when a line asks for more than there is)."""
        with self.lock:
            wanted: dict[str, int] = {}
            for code, quantity in lines:
                if int(quantity) <= 0:
                    raise SimulatorError(f"line {code!r}: quantity must be positive, got {quantity}")
                self.sku_by_code(code)
                wanted[code] = wanted.get(code, 0) + int(quantity)
            if not wanted:
                raise SimulatorError("an order needs at least one line")
            for code, quantity in wanted.items():
                if self.by_code[code].stock < quantity:
                    raise OutOfStock(f"sku {code}: {quantity} wanted, {self.by_code[code].stock} in stock")
            moment = self.now() if at is None else float(at)
            order_id = self._next["order"]()
            order_lines = [Line(self._next["line"](), self.by_code[code], int(quantity), self.by_code[code].price)
                           for code, quantity in lines]
            order = Order(order_id, buyer, order_lines, fake_receiver(buyer, order_id), moment, moment)
            self.orders[order_id] = order
            for line in order_lines:
                self._change_stock(line.sku, -line.quantity, source="buyer", reason=f"order {order_id}")
            self._emit([ShopEvent(ORDER_CREATED, order, moment), ShopEvent(ORDER_PAID, order, moment)])
            return order

    def cancel_order(self, order_id: int | str, *, restock: bool = True) -> Order:
        with self.lock:
            order = self.order(order_id)
            if order.state not in ("paid", "partially_shipped"):
                raise SimulatorError(f"order {order.order_id} is {order.state}; only unshipped orders can be cancelled")
            order.state, order.cancelled_at = "cancelled", self.now()
            order.updated_at = order.cancelled_at
            if restock and self.restock_paid_cancels:
                for line in order.lines:
                    if line.unshipped:
                        self._change_stock(line.sku, line.unshipped, source="buyer", reason=f"cancel {order.order_id}")
            self._emit([ShopEvent(ORDER_CANCELLED, order, order.updated_at)])
            return order

    def refund(self, order_id: int | str, lines: Sequence[tuple[str, int]] | None = None, *,
               restock: bool = True) -> list[AfterSale]:
        """The buyer's after-sale, agreed and refunded at once; one after-sale per order line."""
        with self.lock:
            order = self.order(order_id)
            plan = self._refund_plan(order, lines)
            created: list[AfterSale] = []
            events: list[ShopEvent] = []
            for line, quantity in plan:
                moment = self.now()
                kind = "return_refund" if line.shipped else "refund_only"
                aftersale = AfterSale(self._next["aftersale"](), order, line, quantity, quantity * line.price,
                                      kind, "succeeded", moment, moment, restock)
                line.refunded += quantity
                self.aftersales[aftersale.aftersale_id] = aftersale
                if restock and self.restock_paid_cancels:
                    self._change_stock(line.sku, quantity, source="buyer", reason=f"refund {aftersale.aftersale_id}")
                created.append(aftersale)
                events += [ShopEvent(AFTERSALE_CREATED, order, moment, aftersale),
                           ShopEvent(AFTERSALE_SUCCEEDED, order, moment, aftersale)]
            order.updated_at = self.now()
            if order.state == "paid" and all(line.refunded >= line.quantity for line in order.lines):
                order.state, order.cancelled_at = "cancelled", order.updated_at  # refunded before shipping: closed
            self._emit(events)
            return created

    def _refund_plan(self, order: Order, lines: Sequence[tuple[str, int]] | None) -> list[tuple[Line, int]]:
        if lines is None:
            plan = [(line, line.quantity - line.refunded) for line in order.lines if line.quantity > line.refunded]
        else:
            plan = []
            for code, quantity in lines:
                line = next((li for li in order.lines if li.sku.code == code), None)
                if line is None:
                    raise SimulatorError(f"order {order.order_id} has no line for sku {code!r}")
                if not 0 < int(quantity) <= line.quantity - line.refunded:
                    raise SimulatorError(f"order {order.order_id}, sku {code}: cannot refund {quantity} "
                                         f"of {line.quantity - line.refunded} refundable")
                plan.append((line, int(quantity)))
        if not plan:
            raise SimulatorError(f"order {order.order_id} has nothing left to refund")
        return plan

    # ---- the seller ----------------------------------------------------------------------------
    def ship(self, order_id: int | str, *, tracking_number: str, carrier: str,
             lines: Sequence[tuple[int, int]] | None = None) -> Package:
        """One package with `lines` ((line id, quantity); all unshipped units when None)."""
        with self.lock:
            order = self.order(order_id)
            if order.state not in ("paid", "partially_shipped"):
                raise SimulatorError(f"order {order.order_id} is {order.state}; it cannot be shipped")
            wanted = [(li.line_id, li.unshipped) for li in order.lines if li.unshipped] if lines is None else lines
            if not wanted:
                raise SimulatorError(f"order {order.order_id} has nothing left to ship")
            for line_id, quantity in wanted:
                if not 0 < quantity <= order.line(line_id).unshipped:
                    raise SimulatorError(f"order {order.order_id}, line {line_id}: cannot ship {quantity} "
                                         f"of {order.line(line_id).unshipped} unshipped")
            for line_id, quantity in wanted:
                order.line(line_id).shipped += quantity
            moment = self.now()
            package = Package(self._next["package"](), tracking_number, carrier, tuple(wanted), moment)
            order.packages.append(package)
            order.updated_at = moment
            order.state = "shipped" if all(not li.unshipped for li in order.lines) else "partially_shipped"
            self._emit([ShopEvent(ORDER_SHIPPED, order, moment, package=package)])
            return package

    def complete(self, order_id: int | str) -> Order:
        """The buyer confirms receipt of a shipped order."""
        with self.lock:
            order = self.order(order_id)
            if order.state != "shipped":
                raise SimulatorError(f"order {order.order_id} is {order.state}; only shipped orders complete")
            order.state, order.updated_at = "completed", self.now()
            self._emit([ShopEvent(ORDER_COMPLETED, order, order.updated_at)])
            return order

    def merchant_stock(self, code: str, *, quantity: int | None = None, delta: int | None = None) -> Sku:
        """A stock edit in the seller's back office (no reserve check: the seller sees it all)."""
        with self.lock:
            sku = self.sku_by_code(code)
            if (quantity is None) == (delta is None):
                raise SimulatorError("give exactly one of quantity and delta")
            change = (int(quantity) - sku.stock) if quantity is not None else int(delta or 0)
            if sku.stock + change < 0:
                raise SimulatorError(f"sku {code}: stock cannot go below 0")
            self._change_stock(sku, change, source="merchant", reason="back office")
            return sku

    def reserve(self, code: str, quantity: int) -> Sku:
        """Hold `quantity` of the SKU's stock for a platform activity (a live-stream promotion)."""
        with self.lock:
            sku = self.sku_by_code(code)
            if not 0 <= int(quantity) <= sku.stock:
                raise SimulatorError(f"sku {code}: reserve must be between 0 and the stock {sku.stock}")
            sku.reserved = int(quantity)
            return sku

    # ---- the hub's API writes ------------------------------------------------------------------
    def api_set(self, sku: Sku, quantity: int, *, reason: str) -> int:
        """Set stock through the API; refused below the reserved quantity. Returns the change."""
        with self.lock:
            if quantity < sku.reserved or quantity < 0:
                raise StockRefused(sku, quantity)
            change = quantity - sku.stock
            self._change_stock(sku, change, source=HUB_SOURCE, reason=reason)
            return change

    def api_adjust(self, sku: Sku, change: int, *, reason: str) -> int:
        """Add `change` (negative subtracts) through the API; refused when it would cut into reserve."""
        with self.lock:
            if sku.stock + change < max(sku.reserved, 0):
                raise StockRefused(sku, sku.stock + change)
            self._change_stock(sku, change, source=HUB_SOURCE, reason=reason)
            return sku.stock

    # ---- plumbing ------------------------------------------------------------------------------
    def _change_stock(self, sku: Sku, change: int, *, source: str, reason: str) -> None:
        sku.stock += change
        sku.updated_at = self.now()
        self.products[sku.product_id].updated_at = sku.updated_at
        self.writes.record("stock", sku=sku.code, source=source, available=sku.stock, change=change,
                           reason=reason)

    def _emit(self, events: list[ShopEvent]) -> None:
        for listener in list(self.listeners):
            listener(events)
