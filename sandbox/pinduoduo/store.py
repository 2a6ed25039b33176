"""A 拼多多 shop's state: goods with SKUs, stock and 预扣库存, orders (paid, and unpaid ones that
only hold stock), after-sales, shipments.

Stock model (see docs/decisions.md): `sku_quantity` counts the units unpaid orders hold
(`reserve_quantity`); a buyer can buy `sku_quantity - reserve_quantity`; no write may take
`sku_quantity` below the reserve, and goods in a promotion slot refuse any reduction.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.catalogue import SeedSpec, seed_variants
from sandbox.interface import OutOfStock, SimulatorError
from sandbox.pinduoduo.model import CHINA, AfterSale, Counters, Goods, Line, Order, Receiver, Shipment, Sku, now
from sandbox.runtime import WriteLog

SURNAMES = "赵钱孙李周吴郑王冯陈"
GIVEN = "浩宇欣怡子涵梓萱一诺"
PLACES = (("江苏省", "南京市", "鼓楼区"), ("四川省", "成都市", "武侯区"), ("湖北省", "武汉市", "洪山区"))


class StockRefused(SimulatorError):
    """A stock write the platform refuses because of its own holds (reserve, promotion slot)."""


def fake_receiver(buyer: str) -> Receiver:
    digest = int(hashlib.sha256(f"pdd:{buyer}".encode()).hexdigest(), 16)
    province, city, town = PLACES[digest % len(PLACES)]
    name = SURNAMES[digest % 10] + GIVEN[(digest // 10) % 10] + GIVEN[(digest // 100) % 10]
    return Receiver(name, "15" + f"{digest % 10**9:09d}", province, city, town, f"中山路{digest % 800 + 100}号")


@dataclass
class PddStore:
    writes: WriteLog
    mall_id: int
    goods: dict[int, Goods] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    after_sales: dict[int, AfterSale] = field(default_factory=dict)
    shipments: list[Shipment] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def seed(self, spec: SeedSpec) -> dict[str, Any]:
        with self.lock:
            self.goods.clear()
            self.orders.clear()
            self.after_sales.clear()
            self.shipments.clear()
            self.counters = Counters()
            stamp = now()
            for row in seed_variants(spec):
                goods_id = 380_000_000_000 + row.product_index
                goods = self.goods.setdefault(goods_id, Goods(goods_id, row.product_title,
                                                              f"G-{row.product_index:04d}", [], stamp))
                sku_id = 1_200_000_000_000 + row.product_index * 100 + len(goods.skus) + 1
                goods.skus.append(Sku(sku_id, goods_id, row.sku, row.option, row.price, row.stock, 0))
            return {"goods": len(self.goods), "skus": sum(len(g.skus) for g in self.goods.values())}

    def sku_by_outer_id(self, outer_id: str) -> Sku:
        for goods in self.goods.values():
            for sku in goods.skus:
                if sku.outer_id == outer_id:
                    return sku
        raise SimulatorError(f"no SKU with 商家编码 {outer_id!r} in this shop")

    # -- stock ------------------------------------------------------------------------------------
    def _set_quantity(self, sku: Sku, quantity: int, *, source: str, kind: str) -> None:
        sku.quantity = quantity
        self.writes.record(kind, platform="pinduoduo", sku=sku.outer_id, sku_id=sku.sku_id, source=source,
                           available=sku.sellable, quantity=quantity, reserve_quantity=sku.reserve_quantity)

    def write_stock(self, sku: Sku, value: int, *, incremental: bool) -> None:
        """`pdd.goods.quantity.update` (update_type 1 full / 2 incremental) as the platform applies it."""
        with self.lock:
            target = sku.quantity + value if incremental else value
            if target < 0:
                raise StockRefused("库存不能小于0")
            if target < sku.quantity and self.goods[sku.goods_id].promo_slot:
                raise StockRefused(f"商品 {sku.goods_id} 在资源位活动中, 不能减少库存")
            if target < sku.reserve_quantity:
                raise StockRefused(f"库存 {target} 不能小于预扣库存 {sku.reserve_quantity}")
            self._set_quantity(sku, target, source="api", kind="stock")

    def merchant_stock(self, outer_id: str, quantity: int | None, delta: int | None) -> None:
        if (quantity is None) == (delta is None):
            raise SimulatorError("give exactly one of quantity or delta")
        with self.lock:
            sku = self.sku_by_outer_id(outer_id)
            target = quantity if quantity is not None else sku.quantity + int(delta or 0)
            if target < sku.reserve_quantity:
                raise SimulatorError(f"stock of {outer_id} cannot go below its reserve {sku.reserve_quantity}")
            self._set_quantity(sku, target, source="merchant", kind="merchant_edit")

    # -- orders -----------------------------------------------------------------------------------
    def place(self, lines: Sequence[tuple[str, int]], buyer: str, *, paid: bool) -> Order:
        with self.lock:
            wanted = [(self.sku_by_outer_id(sku), int(qty)) for sku, qty in lines]
            if not wanted or any(qty <= 0 for _, qty in wanted):
                raise SimulatorError("an order needs at least one line with a positive quantity")
            for sku, qty in wanted:
                if sku.sellable < qty:
                    raise OutOfStock(f"{sku.outer_id}: {qty} wanted, {sku.sellable} can be bought")
            self.counters.order += 1
            stamp = now()
            order_sn = f"{stamp.astimezone(CHINA):%y%m%d}-{self.counters.order:015d}"
            order_lines = []
            for sku, qty in wanted:
                goods = self.goods[sku.goods_id]
                order_lines.append(Line(goods.goods_id, sku.sku_id, sku.outer_id, goods.outer_goods_id,
                                        goods.goods_name, sku.spec, sku.price, qty))
                if paid:
                    self._set_quantity(sku, sku.quantity - qty, source="buyer", kind="order")
                else:
                    sku.reserve_quantity += qty
                    self._set_quantity(sku, sku.quantity, source="buyer", kind="reserve")
            order = Order(order_sn, order_lines, fake_receiver(buyer), stamp, stamp, stamp if paid else None,
                          paid=paid)
            self.orders[order_sn] = order
            return order

    def order(self, order_sn: str, *, paid: bool | None = True) -> Order:
        order = self.orders.get(order_sn)
        if order is None or (paid is not None and order.paid != paid):
            raise SimulatorError(f"no {'paid' if paid else 'unpaid'} order {order_sn}")
        return order

    def pay(self, order_sn: str) -> Order:
        """An unpaid order is paid: its held units leave the reserve and the stock."""
        with self.lock:
            order = self.order(order_sn, paid=False)
            for line in order.lines:
                sku = self.sku_by_outer_id(line.outer_id)
                sku.reserve_quantity -= line.goods_count
                self._set_quantity(sku, sku.quantity - line.goods_count, source="buyer", kind="order")
            order.paid, order.pay_time = True, now()
            order.updated_at = order.pay_time
            return order

    def expire_unpaid(self, order_sn: str) -> None:
        """An unpaid order times out: the reserve is released (buyers can buy those units again)."""
        with self.lock:
            order = self.order(order_sn, paid=False)
            for line in order.lines:
                sku = self.sku_by_outer_id(line.outer_id)
                sku.reserve_quantity -= line.goods_count
                self._set_quantity(sku, sku.quantity, source="buyer", kind="release")
            del self.orders[order_sn]

    def touch(self, order: Order, moment: datetime | None = None) -> None:
        order.updated_at = moment or now()

    def refund(self, order_sn: str, lines: Iterable[tuple[str, int]] | None, *, restock: bool,
               before_shipping: bool = False) -> list[AfterSale]:
        """A buyer's after-sales request, already agreed: one record per SKU line."""
        with self.lock:
            order = self.order(order_sn)
            if before_shipping and order.order_status != 1:
                raise SimulatorError(f"order {order_sn} is shipped; refund it instead of cancelling it")
            wanted = dict(lines) if lines is not None else {li.outer_id: li.goods_count - li.refunded
                                                            for li in order.lines}
            made = []
            for line in order.lines:
                quantity = min(int(wanted.get(line.outer_id, 0)), line.goods_count - line.refunded)
                if quantity > 0:
                    made.append(self._refund_line(order, line, quantity, restock))
            if not made:
                raise SimulatorError(f"nothing left to refund on order {order_sn} for {sorted(wanted)}")
            order.refund_status = 4
            self.touch(order)
            return made

    def _refund_line(self, order: Order, line: Line, quantity: int, restock: bool) -> AfterSale:
        self.counters.after_sale += 1
        stamp = now()
        record = AfterSale(5_500_000_000 + self.counters.after_sale, order.order_sn,
                           3 if order.order_status != 1 else 2, 10, line, quantity, line.goods_price * quantity,
                           stamp, stamp)
        self.after_sales[record.id] = record
        line.refunded += quantity
        if restock:
            sku = self.sku_by_outer_id(line.outer_id)
            self._set_quantity(sku, sku.quantity + quantity, source="buyer", kind="restock")
        return record

    def ship(self, order: Order, logistics_id: int, tracking_number: str, *, modify: bool) -> Shipment:
        with self.lock:
            stamp = now()
            order.order_status, order.shipping_time = 2, stamp
            order.tracking_number, order.logistics_id = tracking_number, logistics_id
            self.touch(order)
            shipment = Shipment(order.order_sn, tracking_number, logistics_id,
                                tuple((li.outer_id, li.goods_count - li.refunded) for li in order.lines))
            if modify:
                self.shipments = [s for s in self.shipments if s.order_sn != order.order_sn]
            self.shipments.append(shipment)
            return shipment

    def sellable(self, outer_id: str) -> int | None:
        with self.lock:
            try:
                return self.sku_by_outer_id(outer_id).sellable
            except SimulatorError:
                return None
