"""A 拼多多 open-platform simulator: the signed `/api/router` gateway with PDD's error codes and
call limits; goods with SKUs, 商家编码 and 预扣库存 (`reserve_quantity`), full/incremental stock
writes that refuse to go below zero, below the reserve, or down for goods in a promotion slot;
orders by `updated_at` in windows of at most 30 minutes with ciphertext-and-mask receivers;
online send with PDD carrier ids; after-sales increments; access-token refresh.

Modules: `signing`, `errors`, `model` (records, times, ciphertext), `store` (state and flows),
`shop` (credentials, limits, settings, parameters), `api_goods` / `api_orders`, `gateway`,
`control`, `app`, `carriers`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from sandbox.catalogue import SeedSpec
from sandbox.interface import AccountSetup, ChannelShipment, EventDelivery, PlacedOrder, Simulator
from sandbox.pinduoduo.app import create_app
from sandbox.pinduoduo.shop import CallLimits, Credentials, PddShop
from sandbox.pinduoduo.store import PddStore
from sandbox.runtime import Clock, Faults, RequestCounter, Served, ServerThread, WriteLog

__all__ = ["PddSimulator"]

PLATFORM_SETTINGS = ("api_calls", "limit_window_seconds", "order_window_seconds", "refund_window_seconds",
                     "timestamp_skew_seconds", "window_end_inclusive")


class PddSimulator(Served):
    """One simulated 拼多多 mall on loopback, and the Python face of its control plane."""

    platform: ClassVar[str] = "pinduoduo"
    event_delivery: ClassVar[EventDelivery] = EventDelivery.NONE  # PDD pushes over a WebSocket (not simulated)

    def __init__(self, *, port: int = 0, clock_factor: float = 1.0, name: str = "marketsync-pdd") -> None:
        self.clock = Clock(clock_factor)
        self.faults = Faults()
        self.writes = WriteLog()
        self.requests = RequestCounter()
        digest = hashlib.sha256(f"pinduoduo:{name}".encode()).hexdigest()
        credentials = Credentials(client_id=digest[:32], client_secret=digest[32:64],
                                  access_token=hashlib.sha256(f"access:{digest}".encode()).hexdigest()[:32],
                                  refresh_token=hashlib.sha256(f"refresh:{digest}".encode()).hexdigest()[:32])
        store = PddStore(self.writes, mall_id=100_000 + int(digest[:6], 16) % 900_000)
        self.shop = PddShop(credentials, store, CallLimits(self.clock), self.clock, self.faults, self.writes,
                            self.requests)
        self.server = ServerThread(create_app(self.shop, self), port)

    @property
    def gateway_url(self) -> str:
        return f"{self.url}/api/router"

    def info(self) -> dict[str, Any]:
        c = self.shop.credentials
        return {"platform": self.platform, "url": self.url, "gateway": self.gateway_url, "client_id": c.client_id,
                "client_secret": c.client_secret, "access_token": c.access_token, "refresh_token": c.refresh_token,
                **self.shop.describe()}

    def account_setup(self) -> AccountSetup:
        c = self.shop.credentials
        # The simulator lists an order the moment it changes: no safety lag is needed against it.
        return AccountSetup(self.platform, {"gateway": self.gateway_url, "client_id": c.client_id,
                                            "safety_lag_seconds": "0"},
                            {"client_secret": c.client_secret, "access_token": c.access_token,
                             "refresh_token": c.refresh_token})

    # -- the simulator interface ------------------------------------------------------------------
    def seed(self, spec: SeedSpec | int | None = None) -> dict[str, Any]:
        if not isinstance(spec, SeedSpec):
            spec = SeedSpec() if spec is None else SeedSpec(seed=spec)
        return self.shop.store.seed(spec)

    def place_order(self, lines: Sequence[tuple[str, int]], *, buyer: str | None = None) -> PlacedOrder:
        order = self.shop.store.place(lines, buyer or "buyer", paid=True)
        return PlacedOrder(order.order_sn, order.order_sn, tuple((li.outer_id, li.goods_count) for li in order.lines),
                           order.created_time.timestamp())

    def cancel_order(self, order_id: str, *, restock: bool = True) -> None:
        """Before shipping a paid PDD order ends through a full refund (仅退款)."""
        self.shop.store.refund(order_id, None, restock=restock, before_shipping=True)

    def refund_order(self, order_id: str, lines: Sequence[tuple[str, int]] | None = None, *,
                     restock: bool = True) -> None:
        self.shop.store.refund(order_id, lines, restock=restock)

    def set_stock(self, sku: str, quantity: int | None = None, delta: int | None = None) -> None:
        self.shop.store.merchant_stock(sku, None if quantity is None else int(quantity),
                                       None if delta is None else int(delta))

    def available(self, sku: str) -> int | None:
        return self.shop.store.sellable(sku)

    def order_ids(self) -> list[str]:
        """Every order the mall holds (order_sn), for exactly-once checks."""
        with self.shop.store.lock:
            return [str(order_sn) for order_sn in self.shop.store.orders]

    def shipments(self, order_id: str | None = None) -> list[ChannelShipment]:
        with self.shop.store.lock:
            return [ChannelShipment(s.order_sn, s.tracking_number, str(s.logistics_id), s.lines)
                    for s in self.shop.store.shipments if order_id is None or s.order_sn == order_id]

    def set_push_url(self, url: str) -> bool:
        return False

    def flush_events(self, timeout: float = 10.0) -> None:
        """Nothing is pushed: the hub polls."""

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        spec = dict(spec)
        own = {key: spec.pop(key) for key in PLATFORM_SETTINGS if key in spec}
        self.faults.configure(spec)
        for key, value in own.items():
            if key == "api_calls":
                self.shop.limits.api_calls = int(value)
            elif key == "limit_window_seconds":
                self.shop.limits.window_seconds = float(value)
            elif key == "window_end_inclusive":
                self.shop.settings.window_end_inclusive = bool(value)
            else:
                setattr(self.shop.settings, key, float(value))
        return self.settings()

    def settings(self) -> dict[str, Any]:
        s, limits = self.shop.settings, self.shop.limits
        return {"faults": self.faults.as_dict(), "api_calls": limits.api_calls,
                "limit_window_seconds": limits.window_seconds, "order_window_seconds": s.order_window_seconds,
                "refund_window_seconds": s.refund_window_seconds, "timestamp_skew_seconds": s.timestamp_skew_seconds,
                "window_end_inclusive": s.window_end_inclusive}

    def request_counts(self) -> dict[str, Any]:
        return {**self.requests.as_dict(), "by_api": dict(self.shop.calls),
                "limited": sum(self.shop.limits.refused.values()),
                "throttled": sum(self.shop.limits.refused.values()),
                "limited_by_api": dict(self.shop.limits.refused)}

    def reset_counters(self) -> None:
        self.requests.reset()
        self.shop.calls.clear()
        self.shop.limits.reset()
        self.writes.clear()

    # -- PDD's own controls -----------------------------------------------------------------------
    def set_clock(self, factor: float) -> dict[str, Any]:
        self.clock.set_factor(factor)
        return {"factor": self.clock.factor}

    def place_unpaid_order(self, lines: Sequence[tuple[str, int]], *, buyer: str | None = None) -> str:
        """A buyer orders but has not paid: the units are held (预扣) and the order is not listed yet."""
        return self.shop.store.place(lines, buyer or "buyer", paid=False).order_sn

    def pay_order(self, order_sn: str) -> dict[str, Any]:
        order = self.shop.store.pay(order_sn)
        return {"order_sn": order.order_sn, "paid": True}

    def expire_unpaid_order(self, order_sn: str) -> dict[str, Any]:
        self.shop.store.expire_unpaid(order_sn)
        return {"order_sn": order_sn, "expired": True}

    def set_promo_slot(self, sku: str, promo: bool = True) -> dict[str, Any]:
        """Put the goods holding `sku` in a promotion slot (资源位): stock reductions are refused."""
        with self.shop.store.lock:
            goods = self.shop.store.goods[self.shop.store.sku_by_outer_id(sku).goods_id]
            goods.promo_slot = promo
            return {"goods_id": goods.goods_id, "promo_slot": promo}

    def flag_risk(self, order_sn: str, flagged: bool = True) -> dict[str, Any]:
        """Risk-flag an order: its receiver ciphertext is no longer returned (masks still are)."""
        with self.shop.store.lock:
            order = self.shop.store.order(order_sn)
            order.risk_control_status = int(flagged)
            return {"order_sn": order_sn, "risk_control_status": order.risk_control_status}

    def touch_order(self, order_id: str, updated_at: datetime | None = None) -> dict[str, Any]:
        with self.shop.store.lock:
            order = self.shop.store.order(order_id)
            self.shop.store.touch(order, updated_at)
            return {"order_sn": order_id, "updated_at": int(order.updated_at.timestamp())}

    def expire_token(self) -> dict[str, Any]:
        self.shop.credentials.token_valid = False
        return {"token_valid": False}

    def state(self) -> dict[str, Any]:
        store = self.shop.store
        with store.lock:
            return {"platform": self.platform, "mall": self.shop.describe(),
                    "skus": {s.outer_id: {"quantity": s.quantity, "reserve_quantity": s.reserve_quantity,
                                          "sellable": s.sellable} for g in store.goods.values() for s in g.skus},
                    "promo_slots": sorted(g.goods_id for g in store.goods.values() if g.promo_slot),
                    "orders": [{"order_sn": o.order_sn, "paid": o.paid, "order_status": o.order_status,
                                "refund_status": o.refund_status, "lines": [[li.outer_id, li.goods_count]
                                                                            for li in o.lines]}
                               for o in store.orders.values()],
                    "after_sales": [{"id": r.id, "order_sn": r.order_sn, "goods_number": r.goods_number}
                                    for r in store.after_sales.values()],
                    "shipments": [{"order_sn": s.order_sn, "tracking_number": s.tracking_number,
                                   "logistics_id": s.logistics_id} for s in store.shipments],
                    "settings": self.settings()}


_CONFORMS: type[Simulator] = PddSimulator  # mypy checks the class against the shared interface
