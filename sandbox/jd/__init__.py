"""A 京东 JOS simulator: the signed `/routerjson` gateway with `360buy_param_json`, JOS error codes
and `…_responce` roots; SKUs with 商家编码 and stock set/increase; POP orders searched by date
range with masked consignees; shipment with JD carrier ids; refund applications by time window.

Modules: `signing`, `errors`, `model` (records, times), `store` (state and flows), `shop`
(credentials, limits, settings, parameters), `api` (methods), `gateway`, `control`, `app`,
`carriers`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from sandbox.catalogue import SeedSpec
from sandbox.interface import AccountSetup, ChannelShipment, EventDelivery, PlacedOrder, Simulator
from sandbox.jd.app import create_app
from sandbox.jd.shop import CallLimits, Credentials, JdShop
from sandbox.jd.store import JdStore
from sandbox.runtime import Clock, Faults, RequestCounter, Served, ServerThread, WriteLog

__all__ = ["JdSimulator"]

PLATFORM_SETTINGS = ("api_calls", "limit_window_seconds", "order_window_seconds", "refund_window_seconds",
                     "timestamp_skew_seconds", "rate_limit_code", "window_end_inclusive")


class JdSimulator(Served):
    """One simulated 京东 POP vendor on loopback, and the Python face of its control plane."""

    platform: ClassVar[str] = "jd"
    event_delivery: ClassVar[EventDelivery] = EventDelivery.NONE  # JD's JMQ push is not in the sources

    def __init__(self, *, port: int = 0, clock_factor: float = 1.0, name: str = "marketsync-jd") -> None:
        self.clock = Clock(clock_factor)
        self.faults = Faults()
        self.writes = WriteLog()
        self.requests = RequestCounter()
        digest = hashlib.sha256(f"jd:{name}".encode()).hexdigest()
        credentials = Credentials(app_key=digest[:32].upper(), app_secret=digest[32:64],
                                  access_token=hashlib.sha256(f"token:{digest}".encode()).hexdigest()[:36])
        store = JdStore(self.writes, vender_id=600_000 + int(digest[:6], 16) % 300_000)
        self.shop = JdShop(credentials, store, CallLimits(self.clock), self.clock, self.faults, self.writes,
                           self.requests)
        self.server = ServerThread(create_app(self.shop, self), port)

    @property
    def gateway_url(self) -> str:
        return f"{self.url}/routerjson"

    def info(self) -> dict[str, Any]:
        c = self.shop.credentials
        return {"platform": self.platform, "url": self.url, "gateway": self.gateway_url, "app_key": c.app_key,
                "app_secret": c.app_secret, "access_token": c.access_token, "vender_id": self.shop.store.vender_id}

    def account_setup(self) -> AccountSetup:
        c = self.shop.credentials
        # The simulator lists an order the moment it changes: no safety lag is needed against it.
        return AccountSetup(self.platform, {"gateway": self.gateway_url, "app_key": c.app_key,
                                            "safety_lag_seconds": "0"},
                            {"app_secret": c.app_secret, "access_token": c.access_token})

    # -- the simulator interface ------------------------------------------------------------------
    def seed(self, spec: SeedSpec | int | None = None) -> dict[str, Any]:
        if not isinstance(spec, SeedSpec):
            spec = SeedSpec() if spec is None else SeedSpec(seed=spec)
        return self.shop.store.seed(spec)

    def place_order(self, lines: Sequence[tuple[str, int]], *, buyer: str | None = None) -> PlacedOrder:
        order = self.shop.store.place(lines, buyer or "buyer")
        return PlacedOrder(order.order_id, order.order_id, tuple((li.outer_sku_id, li.item_total)
                                                                 for li in order.lines),
                           order.start_time.timestamp())

    def cancel_order(self, order_id: str, *, restock: bool = True) -> None:
        """Before it leaves the warehouse a paid JD order is cancelled through a full refund."""
        self.shop.store.refund(order_id, None, restock=restock, before_shipping=True)

    def refund_order(self, order_id: str, lines: Sequence[tuple[str, int]] | None = None, *,
                     restock: bool = True) -> None:
        self.shop.store.refund(order_id, lines, restock=restock)

    def set_stock(self, sku: str, quantity: int | None = None, delta: int | None = None) -> None:
        self.shop.store.merchant_stock(sku, None if quantity is None else int(quantity),
                                       None if delta is None else int(delta))

    def available(self, sku: str) -> int | None:
        return self.shop.store.available(sku)

    def order_ids(self) -> list[str]:
        """Every order the shop holds (orderId), for exactly-once checks."""
        with self.shop.store.lock:
            return [str(order_id) for order_id in self.shop.store.orders]

    def shipments(self, order_id: str | None = None) -> list[ChannelShipment]:
        with self.shop.store.lock:
            return [ChannelShipment(s.order_id, s.waybill, str(s.logistics_id), s.lines)
                    for s in self.shop.store.shipments if order_id is None or s.order_id == str(order_id)]

    def set_push_url(self, url: str) -> bool:
        return False

    def flush_events(self, timeout: float = 10.0) -> None:
        """Nothing is pushed: the hub polls."""

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        spec = dict(spec)
        own = {key: spec.pop(key) for key in PLATFORM_SETTINGS if key in spec}
        self.faults.configure(spec)
        settings, limits = self.shop.settings, self.shop.limits
        for key, value in own.items():
            if key == "api_calls":
                limits.api_calls = int(value)
            elif key == "limit_window_seconds":
                limits.window_seconds = float(value)
            elif key == "rate_limit_code":
                settings.rate_limit_code = str(value)
            elif key == "window_end_inclusive":
                settings.window_end_inclusive = bool(value)
            else:
                setattr(settings, key, float(value))
        return self.settings()

    def settings(self) -> dict[str, Any]:
        s, limits = self.shop.settings, self.shop.limits
        return {"faults": self.faults.as_dict(), "api_calls": limits.api_calls,
                "limit_window_seconds": limits.window_seconds, "order_window_seconds": s.order_window_seconds,
                "refund_window_seconds": s.refund_window_seconds, "timestamp_skew_seconds": s.timestamp_skew_seconds,
                "rate_limit_code": s.rate_limit_code, "window_end_inclusive": s.window_end_inclusive}

    def request_counts(self) -> dict[str, Any]:
        return {**self.requests.as_dict(), "by_method": dict(self.shop.calls),
                "limited": sum(self.shop.limits.refused.values()),
                "throttled": sum(self.shop.limits.refused.values()),
                "limited_by_method": dict(self.shop.limits.refused)}

    def reset_counters(self) -> None:
        self.requests.reset()
        self.shop.calls.clear()
        self.shop.limits.reset()
        self.writes.clear()

    # -- JD's own controls ------------------------------------------------------------------------
    def set_clock(self, factor: float) -> dict[str, Any]:
        self.clock.set_factor(factor)
        return {"factor": self.clock.factor}

    def touch_order(self, order_id: str, modified: datetime | None = None) -> dict[str, Any]:
        with self.shop.store.lock:
            order = self.shop.store.order(order_id)
            self.shop.store.touch(order, modified)
            return {"orderId": order.order_id, "modified": order.modified.isoformat()}

    def expire_token(self) -> dict[str, Any]:
        self.shop.credentials.token_valid = False
        return {"token_valid": False}

    def state(self) -> dict[str, Any]:
        store = self.shop.store
        with store.lock:
            return {"platform": self.platform, "vender_id": store.vender_id,
                    "skus": {s.outer_id: s.stock_num for s in store.skus()},
                    "orders": [{"orderId": o.order_id, "state": o.state, "modified": o.modified.isoformat(),
                                "lines": [[li.outer_sku_id, li.item_total] for li in o.lines]}
                               for o in store.orders.values()],
                    "refunds": [{"id": r.id, "orderId": r.order_id, "applyRefundSum": str(r.apply_refund_sum)}
                                for r in store.refunds.values()],
                    "shipments": [{"orderId": s.order_id, "waybill": s.waybill, "logisticsId": s.logistics_id}
                                  for s in store.shipments],
                    "settings": self.settings()}


_CONFORMS: type[Simulator] = JdSimulator  # mypy checks the class against the shared interface
