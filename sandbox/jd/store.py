"""A 京东 POP shop's state: wares with SKUs and stock, orders, refund applications, shipments.

Stock never goes below zero; `updateSkuStock` sets it, `increaseSkuStock` adds to it. A full
refund before shipping cancels the order (TRADE_CANCELED); refunds are order-level money
applications, as JD's refund-apply API returns them (no SKU lines).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.catalogue import SeedSpec, seed_variants
from sandbox.interface import OutOfStock, SimulatorError
from sandbox.jd.model import Consignee, Line, Order, RefundApply, Shipment, Sku, Ware, now
from sandbox.runtime import WriteLog

SURNAMES = "刘陈杨黄赵吴周徐孙马"
GIVEN = "嘉怡俊杰思远雨桐晨曦"
PLACES = (("北京", "北京市", "海淀区"), ("广东", "广州市", "天河区"), ("山东", "青岛市", "市南区"))


def fake_consignee(buyer: str) -> Consignee:
    digest = int(hashlib.sha256(f"jd:{buyer}".encode()).hexdigest(), 16)
    province, city, county = PLACES[digest % len(PLACES)]
    name = SURNAMES[digest % 10] + GIVEN[(digest // 10) % 10] + GIVEN[(digest // 100) % 10]
    return Consignee(name, "18" + f"{digest % 10**9:09d}", province, city, county, f"科技路{digest % 700 + 100}号")


@dataclass
class JdStore:
    writes: WriteLog
    vender_id: int
    wares: dict[int, Ware] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    refunds: dict[int, RefundApply] = field(default_factory=dict)
    shipments: list[Shipment] = field(default_factory=list)
    order_count: int = 0
    refund_count: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    def seed(self, spec: SeedSpec) -> dict[str, Any]:
        with self.lock:
            self.wares.clear()
            self.orders.clear()
            self.refunds.clear()
            self.shipments.clear()
            self.order_count = self.refund_count = 0
            stamp = now()
            for row in seed_variants(spec):
                ware_id = 10_000_000_000 + row.product_index
                ware = self.wares.setdefault(ware_id, Ware(ware_id, row.product_title, [], stamp))
                sku_id = 100_000_000_000 + row.product_index * 100 + len(ware.skus) + 1
                ware.skus.append(Sku(sku_id, ware_id, row.sku, f"{row.product_title} {row.option}", row.price,
                                     row.stock, row.barcode, stamp, stamp))
            return {"wares": len(self.wares), "skus": sum(len(w.skus) for w in self.wares.values())}

    def skus(self) -> list[Sku]:
        return [sku for ware in self.wares.values() for sku in ware.skus]

    def sku(self, sku_id: int) -> Sku | None:
        return next((s for s in self.skus() if s.sku_id == sku_id), None)

    def sku_by_outer_id(self, outer_id: str) -> Sku:
        found = next((s for s in self.skus() if s.outer_id == outer_id), None)
        if found is None:
            raise SimulatorError(f"no SKU with 商家编码 {outer_id!r} in this shop")
        return found

    def _set_stock(self, sku: Sku, stock: int, *, source: str, kind: str) -> None:
        sku.stock_num, sku.modified = stock, now()
        self.wares[sku.ware_id].modified = sku.modified
        self.writes.record(kind, platform="jd", sku=sku.outer_id, sku_id=sku.sku_id, source=source, available=stock)

    def write_stock(self, sku: Sku, value: int, *, increase: bool) -> None:
        with self.lock:
            target = sku.stock_num + value if increase else value
            if target < 0:
                raise SimulatorError("库存不能小于0")
            self._set_stock(sku, target, source="api", kind="stock")

    def merchant_stock(self, outer_id: str, quantity: int | None, delta: int | None) -> None:
        if (quantity is None) == (delta is None):
            raise SimulatorError("give exactly one of quantity or delta")
        with self.lock:
            sku = self.sku_by_outer_id(outer_id)
            target = quantity if quantity is not None else sku.stock_num + int(delta or 0)
            if target < 0:
                raise SimulatorError(f"stock of {outer_id} cannot go below 0 (now {sku.stock_num})")
            self._set_stock(sku, target, source="merchant", kind="merchant_edit")

    def place(self, lines: Sequence[tuple[str, int]], buyer: str) -> Order:
        with self.lock:
            wanted = [(self.sku_by_outer_id(sku), int(qty)) for sku, qty in lines]
            if not wanted or any(qty <= 0 for _, qty in wanted):
                raise SimulatorError("an order needs at least one line with a positive quantity")
            for sku, qty in wanted:
                if sku.stock_num < qty:
                    raise OutOfStock(f"{sku.outer_id}: {qty} wanted, {sku.stock_num} in stock")
            self.order_count += 1
            stamp = now()
            order_lines = []
            for sku, qty in wanted:
                self._set_stock(sku, sku.stock_num - qty, source="buyer", kind="order")
                order_lines.append(Line(sku.sku_id, sku.ware_id, sku.outer_id, sku.sku_name, sku.jd_price, qty))
            order = Order(str(300_000_000_000 + self.order_count), "WAIT_SELLER_STOCK_OUT", order_lines,
                          fake_consignee(buyer), f"jd_{hashlib.sha1(buyer.encode()).hexdigest()[:10]}", stamp,
                          stamp, stamp)
            self.orders[order.order_id] = order
            return order

    def order(self, order_id: str) -> Order:
        order = self.orders.get(str(order_id))
        if order is None:
            raise SimulatorError(f"no order {order_id}")
        return order

    def touch(self, order: Order, moment: datetime | None = None) -> None:
        order.modified = moment or now()

    def refund(self, order_id: str, lines: Iterable[tuple[str, int]] | None, *, restock: bool,
               before_shipping: bool = False) -> RefundApply:
        with self.lock:
            order = self.order(order_id)
            if before_shipping and order.state != "WAIT_SELLER_STOCK_OUT":
                raise SimulatorError(f"order {order_id} is {order.state}; refund it instead of cancelling it")
            if order.state == "TRADE_CANCELED":
                raise SimulatorError(f"order {order_id} is cancelled")
            wanted = dict(lines) if lines is not None else {li.outer_sku_id: li.item_total - li.refunded
                                                            for li in order.lines}
            amount = sum((li.jd_price * self._take(li, int(wanted.get(li.outer_sku_id, 0)), restock)
                          for li in order.lines), start=Decimal("0"))
            if not amount:
                raise SimulatorError(f"nothing left to refund on order {order_id} for {sorted(wanted)}")
            if order.state == "WAIT_SELLER_STOCK_OUT" and all(li.refunded >= li.item_total for li in order.lines):
                order.state, order.end_time = "TRADE_CANCELED", now()
            self.refund_count += 1
            stamp = now()
            record = RefundApply(90_000_000 + self.refund_count, order.order_id, 1, amount, stamp, stamp)
            self.refunds[record.id] = record
            self.touch(order)
            return record

    def _take(self, line: Line, quantity: int, restock: bool) -> int:
        quantity = min(quantity, line.item_total - line.refunded)
        if quantity <= 0:
            return 0
        line.refunded += quantity
        if restock:
            sku = self.sku_by_outer_id(line.outer_sku_id)
            self._set_stock(sku, sku.stock_num + quantity, source="buyer", kind="restock")
        return quantity

    def ship(self, order: Order, logistics_id: int, waybill: str) -> Shipment:
        with self.lock:
            order.state, order.waybill, order.logistics_id = "WAIT_GOODS_RECEIVE_CONFIRM", waybill, logistics_id
            self.touch(order)
            shipment = Shipment(order.order_id, waybill, logistics_id,
                                tuple((li.outer_sku_id, li.item_total - li.refunded) for li in order.lines))
            self.shipments.append(shipment)
            return shipment

    def available(self, outer_id: str) -> int | None:
        with self.lock:
            try:
                return self.sku_by_outer_id(outer_id).stock_num
            except SimulatorError:
                return None
