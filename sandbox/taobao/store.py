"""A Taobao shop's state: items with SKUs and stock, trades, refunds, shipments.

Every stock change goes through `_set_quantity`, which refuses to go below zero and records
the change in the write log. Every trade or refund change bumps `modified` and publishes the
matching TMC message.
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
from sandbox.runtime import WriteLog
from sandbox.taobao.model import Counters, Item, Receiver, Refund, Shipment, Sku, Trade, TradeOrder, now, yuan
from sandbox.taobao.tmc import MessageQueue

SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜敏静丽强磊军洋"
PLACES = (("浙江省", "杭州市", "西湖区", "310000"), ("广东省", "深圳市", "南山区", "518000"),
          ("北京", "北京市", "朝阳区", "100020"), ("上海", "上海市", "浦东新区", "200120"))


class StockRefused(SimulatorError):
    """A stock write the platform refuses (`sub_code` tells the API layer how to answer)."""

    def __init__(self, sub_code: str, message: str) -> None:
        super().__init__(message)
        self.sub_code = sub_code


def fake_receiver(buyer: str) -> Receiver:
    digest = int(hashlib.sha256(buyer.encode()).hexdigest(), 16)
    state, city, district, zip_code = PLACES[digest % len(PLACES)]
    name = SURNAMES[digest % 10] + GIVEN[(digest // 10) % 10] + GIVEN[(digest // 100) % 10]
    mobile = "13" + f"{digest % 10**9:09d}"
    return Receiver(name, mobile, state, city, district, f"文一路{digest % 900 + 100}号", zip_code)


@dataclass
class TaobaoStore:
    writes: WriteLog
    tmc: MessageQueue
    seller_id: int
    seller_nick: str
    items: dict[int, Item] = field(default_factory=dict)
    trades: dict[int, Trade] = field(default_factory=dict)
    refunds: dict[int, Refund] = field(default_factory=dict)
    shipments: list[Shipment] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # -- catalogue --------------------------------------------------------------------------------
    def seed(self, spec: SeedSpec) -> dict[str, Any]:
        with self.lock:
            self.items.clear()
            self.trades.clear()
            self.refunds.clear()
            self.shipments.clear()
            self.tmc.clear()
            self.counters = Counters()
            stamp = now()
            for row in seed_variants(spec):
                num_iid = 610_000_000_000 + row.product_index
                item = self.items.get(num_iid)
                if item is None:
                    item = Item(num_iid, row.product_title, f"{row.product_title}", row.price, [], stamp)
                    self.items[num_iid] = item
                item.skus.append(Sku(4_100_000_000_000 + row.product_index * 100 + len(item.skus) + 1, num_iid,
                                     row.sku, f"20509:{len(item.skus) + 1}:尺码:{row.option}", row.price,
                                     row.stock, row.barcode, stamp))
            return {"items": len(self.items), "skus": sum(len(i.skus) for i in self.items.values())}

    def sku_by_outer_id(self, outer_id: str) -> Sku:
        for item in self.items.values():
            for sku in item.skus:
                if sku.outer_id == outer_id:
                    return sku
        raise SimulatorError(f"no SKU with 商家编码 {outer_id!r} in this shop")

    def item(self, num_iid: int) -> Item | None:
        return self.items.get(num_iid)

    # -- stock ------------------------------------------------------------------------------------
    def _set_quantity(self, sku: Sku, quantity: int, *, source: str, kind: str) -> None:
        if quantity < 0:
            raise StockRefused("isv.item-quantity-item-update-service-error", "库存不能小于0")
        sku.quantity = quantity
        sku.modified = now()
        self.items[sku.num_iid].modified = sku.modified
        self.writes.record(kind, platform="taobao", sku=sku.outer_id, sku_id=sku.sku_id, source=source,
                           available=quantity)

    def write_stock(self, sku: Sku, value: int, *, incremental: bool, clamp: bool = False,
                    source: str = "api", kind: str = "stock") -> None:
        """A stock write (type 1 full / 2 incremental) as the API applies it."""
        with self.lock:
            item = self.items[sku.num_iid]
            if item.presale and not incremental:
                raise StockRefused("isv.item-is-presale", "预售商品只能增量更新库存; 请使用 type=2")
            target = sku.quantity + value if incremental else value
            if clamp and incremental:
                target = max(0, target)  # the batch API sets 0 when a decrement exceeds the stock
            self._set_quantity(sku, target, source=source, kind=kind)

    def merchant_stock(self, outer_id: str, quantity: int | None, delta: int | None) -> int:
        if (quantity is None) == (delta is None):
            raise SimulatorError("give exactly one of quantity or delta")
        with self.lock:
            sku = self.sku_by_outer_id(outer_id)
            target = quantity if quantity is not None else sku.quantity + int(delta or 0)
            if target < 0:
                raise SimulatorError(f"stock of {outer_id} cannot go below 0 (now {sku.quantity})")
            self._set_quantity(sku, target, source="merchant", kind="merchant_edit")
            return sku.quantity

    # -- trades -----------------------------------------------------------------------------------
    def place_trade(self, lines: Sequence[tuple[str, int]], buyer: str) -> Trade:
        with self.lock:
            wanted = [(self.sku_by_outer_id(sku), int(qty)) for sku, qty in lines]
            if not wanted or any(qty <= 0 for _, qty in wanted):
                raise SimulatorError("an order needs at least one line with a positive quantity")
            for sku, qty in wanted:
                if sku.quantity < qty:
                    raise OutOfStock(f"{sku.outer_id}: {qty} wanted, {sku.quantity} in stock")
            self.counters.trade += 1
            tid = 2_900_000_000_000_000 + self.counters.trade
            stamp = now()
            orders = []
            for sku, qty in wanted:
                self._set_quantity(sku, sku.quantity - qty, source="buyer", kind="order")
                item = self.items[sku.num_iid]
                self.counters.sub_order += 1
                oid = tid if len(wanted) == 1 else 3_900_000_000_000_000 + self.counters.sub_order
                orders.append(TradeOrder(oid, item.num_iid, sku.sku_id, sku.outer_id, item.outer_id, item.title,
                                         sku.properties_name, sku.price, qty, "WAIT_SELLER_SEND_GOODS"))
            nick = f"tb_{buyer}"
            trade = Trade(tid, "WAIT_SELLER_SEND_GOODS", nick, "AAH" + hashlib.sha1(nick.encode()).hexdigest()[:20],
                          fake_receiver(buyer), orders, stamp, stamp, stamp)
            self.trades[tid] = trade
            self._publish_trade("taobao_trade_TradeCreate", trade)
            self._publish_trade("taobao_trade_TradeBuyerPay", trade)
            return trade

    def trade(self, tid: int) -> Trade:
        trade = self.trades.get(tid)
        if trade is None:
            raise SimulatorError(f"no trade {tid}")
        return trade

    def touch(self, trade: Trade, moment: datetime | None = None) -> None:
        trade.modified = moment or now()

    def close_trade(self, tid: int, *, restock: bool) -> Trade:
        with self.lock:
            trade = self.trade(tid)
            if trade.status in ("TRADE_CLOSED", "TRADE_CLOSED_BY_TAOBAO", "TRADE_FINISHED"):
                raise SimulatorError(f"trade {tid} is {trade.status}; it cannot be closed")
            if any(o.consigned for o in trade.orders):
                raise SimulatorError(f"trade {tid} is shipped; refund it instead of closing it")
            for order in trade.orders:
                order.status = "TRADE_CLOSED"
                if restock:
                    self._restock(order.outer_sku_id, order.num - order.refunded)
            trade.status, trade.end_time = "TRADE_CLOSED", now()
            self.touch(trade)
            self._publish_trade("taobao_trade_TradeClose", trade)
            return trade

    def _restock(self, outer_id: str, quantity: int) -> None:
        if quantity > 0:
            sku = self.sku_by_outer_id(outer_id)
            self._set_quantity(sku, sku.quantity + quantity, source="buyer", kind="restock")

    def refund(self, tid: int, lines: Iterable[tuple[str, int]] | None, *, restock: bool) -> list[Refund]:
        """A buyer's refund, already agreed (status SUCCESS), one refund per sub-order."""
        with self.lock:
            trade = self.trade(tid)
            wanted = dict(lines) if lines is not None else {o.outer_sku_id: o.num - o.refunded for o in trade.orders}
            made = []
            for order in trade.orders:
                quantity = min(int(wanted.get(order.outer_sku_id, 0)), order.num - order.refunded)
                if quantity <= 0:
                    continue
                made.append(self._refund_line(trade, order, quantity, restock))
            if not made:
                raise SimulatorError(f"nothing left to refund on trade {tid} for {sorted(wanted)}")
            if all(o.refunded >= o.num for o in trade.orders) and not any(o.consigned for o in trade.orders):
                trade.status, trade.end_time = "TRADE_CLOSED", now()
                for order in trade.orders:
                    order.status = "TRADE_CLOSED"
            self.touch(trade)
            self._publish_trade("taobao_trade_TradeChanged", trade)
            return made

    def _refund_line(self, trade: Trade, order: TradeOrder, quantity: int, restock: bool) -> Refund:
        self.counters.refund += 1
        stamp = now()
        refund = Refund(7_700_000_000_000 + self.counters.refund, trade.tid, order.oid, quantity,
                        order.price * quantity, "SUCCESS", order.outer_sku_id, order.title, stamp, stamp,
                        has_good_return=order.consigned and restock)
        self.refunds[refund.refund_id] = refund
        order.refunded += quantity
        order.refund_status, order.refund_id = "SUCCESS", refund.refund_id
        if restock:
            self._restock(order.outer_sku_id, quantity)
        content = {"refund_id": refund.refund_id, "tid": trade.tid, "oid": order.oid, "refund_fee": yuan(
            refund.refund_fee), "buyer_nick": trade.buyer_nick, "seller_nick": self.seller_nick,
            "refund_phase": "aftersale" if order.consigned else "onsale", "bill_type": "refund_bill"}
        for topic in ("taobao_refund_RefundCreated", "taobao_refund_RefundSuccess"):
            self.tmc.publish(topic, content, user_id=self.seller_id, user_nick=self.seller_nick)
        return refund

    def consign(self, trade: Trade, company_code: str, out_sid: str, sub_tids: list[int] | None) -> Shipment:
        """Mark sub-orders sent (all unsent ones, or `sub_tids`), as offline/online send do."""
        with self.lock:
            targets = [o for o in trade.orders if not o.consigned and (sub_tids is None or o.oid in sub_tids)]
            stamp = now()
            for order in targets:
                order.consigned, order.status = True, "WAIT_BUYER_CONFIRM_GOODS"
                order.logistics_company, order.invoice_no, order.consign_time = company_code, out_sid, stamp
            everything = all(o.consigned or o.refunded >= o.num for o in trade.orders)
            trade.status = "WAIT_BUYER_CONFIRM_GOODS" if everything else "SELLER_CONSIGNED_PART"
            trade.consign_time = stamp
            self.touch(trade)
            shipment = Shipment(trade.tid, out_sid, company_code, tuple((o.outer_sku_id, o.num) for o in targets))
            self.shipments.append(shipment)
            self._publish_trade("taobao_trade_TradeSellerShip", trade)
            return shipment

    def _publish_trade(self, topic: str, trade: Trade) -> None:
        content = {"buyer_nick": trade.buyer_nick, "payment": yuan(trade.total_fee + trade.post_fee),
                   "oid": trade.orders[0].oid, "tid": trade.tid, "type": "guarantee_trade",
                   "seller_nick": self.seller_nick, "status": trade.status}
        self.tmc.publish(topic, content, user_id=self.seller_id, user_nick=self.seller_nick)

    def available(self, outer_id: str) -> int | None:
        with self.lock:
            try:
                return self.sku_by_outer_id(outer_id).quantity
            except SimulatorError:
                return None
