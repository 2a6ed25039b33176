"""A 淘宝/天猫 TOP simulator: the `/router/rest` gateway with signatures, sessions, call limits
and TOP's error envelope; items and SKUs with 商家编码, full/incremental and batch stock writes,
预售 items; trades with incremental search over bounded windows; refunds; offline/online send;
and TMC, the pull-style message queue with confirm and redelivery.

Modules: `signing`, `errors`, `model` (records, GMT+8 times), `store` (state and flows),
`tmc` (the queue), `limits` (call limits), `shop` (one seller: credentials, settings),
`api_items` / `api_trades` / `api_messages` (methods), `gateway` (HTTP), `control`, `app`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from sandbox.catalogue import SeedSpec
from sandbox.interface import AccountSetup, ChannelShipment, EventDelivery, PlacedOrder, Simulator, SimulatorError
from sandbox.runtime import Clock, Faults, RequestCounter, Served, ServerThread, WriteLog
from sandbox.taobao.app import create_app
from sandbox.taobao.limits import CallLimits
from sandbox.taobao.shop import Credentials, TaobaoShop
from sandbox.taobao.store import TaobaoStore
from sandbox.taobao.tmc import MessageQueue

__all__ = ["TaobaoSimulator"]

# configure() keys that are this platform's own, with the setting each one changes.
PLATFORM_SETTINGS = ("api_calls", "app_calls", "limit_window_seconds", "ban_seconds", "tmc_redelivery_seconds",
                     "tmc_require_permit", "tmc_permitted", "increment_window_seconds", "refund_window_seconds",
                     "window_end_inclusive", "timestamp_skew_seconds")


class TaobaoSimulator(Served):
    """One simulated Taobao seller on loopback, and the Python face of its control plane."""

    platform: ClassVar[str] = "taobao"
    event_delivery: ClassVar[EventDelivery] = EventDelivery.PULL

    def __init__(self, *, port: int = 0, clock_factor: float = 1.0, name: str = "marketsync-tb") -> None:
        self.clock = Clock(clock_factor)
        self.faults = Faults()
        self.writes = WriteLog()
        self.requests = RequestCounter()
        digest = hashlib.sha256(f"taobao:{name}".encode()).hexdigest()
        credentials = Credentials(app_key=str(20_000_000 + int(digest[:6], 16) % 9_000_000),
                                  app_secret=digest[8:40], session="6100" + digest[40:64])
        seller_id = 2_200_000_000 + int(digest[:8], 16) % 100_000_000
        tmc = MessageQueue(self.clock, credentials.app_key)
        tmc.permit(seller_id)  # the seller authorised the app, which enabled messages for them
        store = TaobaoStore(self.writes, tmc, seller_id, name)
        self.shop = TaobaoShop(credentials, store, tmc, CallLimits(self.clock), self.clock, self.faults,
                               self.writes, self.requests)
        self.server = ServerThread(create_app(self.shop, self), port)

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def gateway_url(self) -> str:
        return f"{self.url}/router/rest"

    def info(self) -> dict[str, Any]:
        c = self.shop.credentials
        return {"platform": self.platform, "url": self.url, "gateway": self.gateway_url, "app_key": c.app_key,
                "app_secret": c.app_secret, "session": c.session, **self.shop.describe()}

    def account_setup(self) -> AccountSetup:
        c = self.shop.credentials
        # The simulator lists a trade the moment it changes: no safety lag is needed against it.
        return AccountSetup(self.platform, {"gateway": self.gateway_url, "app_key": c.app_key,
                                            "safety_lag_seconds": "0"},
                            {"app_secret": c.app_secret, "session": c.session})

    # -- the simulator interface ------------------------------------------------------------------
    def seed(self, spec: SeedSpec | int | None = None) -> dict[str, Any]:
        if not isinstance(spec, SeedSpec):
            spec = SeedSpec() if spec is None else SeedSpec(seed=spec)
        return self.shop.store.seed(spec)

    def place_order(self, lines: Sequence[tuple[str, int]], *, buyer: str | None = None) -> PlacedOrder:
        trade = self.shop.store.place_trade(lines, buyer or "buyer")
        return PlacedOrder(str(trade.tid), str(trade.tid), tuple((o.outer_sku_id, o.num) for o in trade.orders),
                           trade.created.timestamp())

    def cancel_order(self, order_id: str, *, restock: bool = True) -> None:
        self.shop.store.close_trade(_tid(order_id), restock=restock)

    def refund_order(self, order_id: str, lines: Sequence[tuple[str, int]] | None = None, *,
                     restock: bool = True) -> None:
        self.shop.store.refund(_tid(order_id), lines, restock=restock)

    def set_stock(self, sku: str, quantity: int | None = None, delta: int | None = None) -> None:
        self.shop.store.merchant_stock(sku, None if quantity is None else int(quantity),
                                       None if delta is None else int(delta))

    def available(self, sku: str) -> int | None:
        return self.shop.store.available(sku)

    def order_ids(self) -> list[str]:
        """Every trade the shop holds (tids), for exactly-once checks."""
        with self.shop.store.lock:
            return [str(tid) for tid in self.shop.store.trades]

    def shipments(self, order_id: str | None = None) -> list[ChannelShipment]:
        with self.shop.store.lock:
            return [ChannelShipment(str(s.tid), s.out_sid, s.company_code, s.lines)
                    for s in self.shop.store.shipments if order_id is None or str(s.tid) == str(order_id)]

    def set_push_url(self, url: str) -> bool:
        return False  # TMC is pulled by the connector; there is nothing to point anywhere

    def flush_events(self, timeout: float = 10.0) -> None:
        """TMC messages are consumable as soon as they are published; nothing is held back."""

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        spec = dict(spec)
        own = {key: spec.pop(key) for key in PLATFORM_SETTINGS if key in spec}
        self.faults.configure(spec)
        if "duplicate_webhooks" in spec:
            self.shop.tmc.duplicate_rate = float(spec["duplicate_webhooks"])
        if "reorder_webhooks" in spec:
            self.shop.tmc.reorder = bool(spec["reorder_webhooks"])
        limits, settings, tmc = self.shop.limits, self.shop.settings, self.shop.tmc
        for key, value in own.items():
            if key in ("api_calls", "app_calls"):
                setattr(limits, key, int(value))
            elif key in ("limit_window_seconds", "ban_seconds"):
                setattr(limits, key.removeprefix("limit_"), float(value))
            elif key == "tmc_redelivery_seconds":
                tmc.redelivery_seconds = float(value)
            elif key == "tmc_require_permit":
                tmc.require_permit = bool(value)
            elif key == "tmc_permitted":
                tmc.permitted = {self.shop.store.seller_id} if value else set()
            elif key == "window_end_inclusive":
                settings.window_end_inclusive = bool(value)
            else:
                setattr(settings, key, None if value is None else float(value))
        return self.settings()

    def settings(self) -> dict[str, Any]:
        s, tmc = self.shop.settings, self.shop.tmc
        return {"faults": self.faults.as_dict(), "limits": self.shop.limits.settings(),
                "increment_window_seconds": s.increment_window_seconds,
                "refund_window_seconds": s.refund_window_seconds, "window_end_inclusive": s.window_end_inclusive,
                "timestamp_skew_seconds": s.timestamp_skew_seconds, "tmc_redelivery_seconds": tmc.redelivery_seconds,
                "tmc_require_permit": tmc.require_permit, "tmc_duplicate_rate": tmc.duplicate_rate,
                "tmc_reorder": tmc.reorder}

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

    # -- Taobao's own controls --------------------------------------------------------------------
    def set_clock(self, factor: float) -> dict[str, Any]:
        self.clock.set_factor(factor)
        return {"factor": self.clock.factor}

    def set_presale(self, sku: str, presale: bool = True) -> dict[str, Any]:
        """Make the item holding `sku` a 预售 item: full stock writes are refused from now on."""
        with self.shop.store.lock:
            item = self.shop.store.items[self.shop.store.sku_by_outer_id(sku).num_iid]
            item.presale = presale
            return {"num_iid": item.num_iid, "presale": presale}

    def touch_order(self, order_id: str, modified: datetime | None = None) -> dict[str, Any]:
        """Change the trade's `modified` time (now, or the moment given) — a seller note, say."""
        with self.shop.store.lock:
            trade = self.shop.store.trade(_tid(order_id))
            self.shop.store.touch(trade, modified)
            return {"tid": trade.tid, "modified": trade.modified.isoformat()}

    def expire_session(self) -> dict[str, Any]:
        self.shop.session_valid = False
        return {"session_valid": False}

    def tmc_state(self) -> dict[str, Any]:
        pending = self.shop.tmc.pending()
        return {"pending": [{"id": m.id, "topic": m.topic, "deliveries": m.deliveries} for m in pending],
                "permitted": sorted(self.shop.tmc.permitted), "total": len(self.shop.tmc.messages)}

    def redeliver_now(self) -> dict[str, Any]:
        self.shop.tmc.release_all()
        return self.tmc_state()

    def state(self) -> dict[str, Any]:
        store = self.shop.store
        with store.lock:
            return {"platform": self.platform, "seller": self.shop.describe(),
                    "skus": {s.outer_id: s.quantity for i in store.items.values() for s in i.skus},
                    "presale": sorted(i.num_iid for i in store.items.values() if i.presale),
                    "trades": [{"tid": t.tid, "status": t.status, "modified": t.modified.isoformat(),
                                "lines": [[o.outer_sku_id, o.num] for o in t.orders]} for t in store.trades.values()],
                    "refunds": [{"refund_id": r.refund_id, "tid": r.tid, "oid": r.oid, "num": r.num}
                                for r in store.refunds.values()],
                    "shipments": [{"tid": s.tid, "out_sid": s.out_sid, "company_code": s.company_code}
                                  for s in store.shipments],
                    "settings": self.settings()}


def _tid(order_id: str | int) -> int:
    try:
        return int(order_id)
    except (TypeError, ValueError):
        raise SimulatorError(f"a Taobao order id is a number (tid), got {order_id!r}") from None


_CONFORMS: type[Simulator] = TaobaoSimulator  # mypy checks the class against the shared interface
