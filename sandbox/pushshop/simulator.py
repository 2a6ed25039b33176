"""The `sandbox.interface.Simulator` implementation the three pushed-event simulators extend.

A subclass names its platform, id scheme and push rules, and supplies the app (its gateway),
its credentials, how shop events become pushes, and what the receiver must answer. Everything
the demo, tests and benchmarks drive through the interface lives here once.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import httpx
from starlette.applications import Starlette

from sandbox.catalogue import SeedSpec
from sandbox.interface import AccountSetup, ChannelShipment, EventDelivery, PlacedOrder, SimulatorError
from sandbox.pushshop.limits import RateWindows
from sandbox.pushshop.pushes import PreparedPush, PushQueue
from sandbox.pushshop.shop import IdScheme, Order, Shop, ShopEvent
from sandbox.runtime import Clock, Faults, RequestCounter, ServerThread, WriteLog, free_port

PUSH_FAULT_KEYS = ("push_loss_rate", "push_duplicate_rate")


class PushBuilder:
    """Builds the request of one push at each attempt (a callable the push queue keeps)."""

    def __init__(self, simulator: PushShopSimulator, payload: Any) -> None:
        self.simulator, self.payload = simulator, payload

    def __call__(self) -> PreparedPush:
        return self.simulator.prepare_push(self.payload)


class PushShopSimulator:
    platform: ClassVar[str]
    event_delivery: ClassVar[EventDelivery] = EventDelivery.PUSH
    ids: ClassVar[IdScheme]
    retry_delays: ClassVar[tuple[float, ...]]
    push_timeout: ClassVar[float]
    restock_paid_cancels: ClassVar[bool] = True
    default_options: ClassVar[dict[str, Any]] = {}

    def __init__(self, *, port: int = 0, clock_factor: float = 1.0, name: str | None = None,
                 **options: Any) -> None:
        known = {*self.default_options, *PUSH_FAULT_KEYS}
        unknown = set(options) - known
        if unknown:
            raise ValueError(f"unknown {self.platform} simulator options: {sorted(unknown)}; known: {sorted(known)}")
        self.name = name or f"{self.platform}-shop"
        self.options: dict[str, Any] = {**self.default_options}
        self.clock = Clock(clock_factor)
        self.faults = Faults()
        self.writes = WriteLog()
        self.requests = RequestCounter()
        self.limits = RateWindows(self.clock)
        self.shop = Shop(ids=self.ids, writes=self.writes, restock_paid_cancels=self.restock_paid_cancels)
        self.shop.listeners.append(self._on_events)
        self.pushes = PushQueue(self.clock, retry_delays=self.retry_delays, timeout=self.push_timeout,
                                accepted=self.push_accepted)
        self.push_url: str | None = None
        self._buyers = itertools.count(1)
        self._port = port or free_port()
        self.credentials = self.make_credentials(hashlib.sha256(f"{self.platform}:{self.name}:{self._port}"
                                                                .encode()).hexdigest())
        self.configure(dict(options))
        self.app = self.create_app()
        self.app.state.simulator = self
        self.server = ServerThread(self.app, self._port)

    # ---- what a platform supplies ----------------------------------------------------------
    def make_credentials(self, entropy: str) -> dict[str, str]:
        raise NotImplementedError

    def create_app(self) -> Starlette:
        raise NotImplementedError

    def account_setup(self) -> AccountSetup:
        raise NotImplementedError

    def pushes_for(self, events: list[ShopEvent]) -> list[tuple[list[str], Any]]:
        """(message ids, payload) for each push these events cause."""
        raise NotImplementedError

    def prepare_push(self, payload: Any) -> PreparedPush:
        raise NotImplementedError

    def push_accepted(self, response: httpx.Response) -> bool:
        raise NotImplementedError

    def on_seed(self) -> None:
        """Forget what a reseed forgets (idempotency ids, tokens); nothing by default."""

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> Self:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.pushes.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def info(self) -> dict[str, Any]:
        return {"platform": self.platform, "name": self.name, "url": self.url, **self.credentials}

    # ---- the interface ---------------------------------------------------------------------
    def seed(self, spec: SeedSpec | int | None = None) -> dict[str, Any]:
        if spec is None:
            spec = SeedSpec()
        elif isinstance(spec, int):
            spec = SeedSpec(seed=spec)
        self.on_seed()
        return self.shop.seed(spec)

    def place_order(self, lines: Sequence[tuple[str, int]], *, buyer: str | None = None,
                    at: float | None = None) -> PlacedOrder:
        order = self.shop.place_order([(str(sku), int(qty)) for sku, qty in lines],
                                      buyer=buyer or f"buyer-{next(self._buyers)}", at=at)
        return PlacedOrder(str(order.order_id), self.order_number(order),
                           tuple((line.sku.code, line.quantity) for line in order.lines), time.time())

    def order_number(self, order: Order) -> str:
        return str(order.order_id)

    def cancel_order(self, order_id: str, *, restock: bool = True) -> None:
        self.shop.cancel_order(order_id, restock=restock)

    def refund_order(self, order_id: str, lines: Sequence[tuple[str, int]] | None = None, *,
                     restock: bool = True) -> None:
        self.shop.refund(order_id, None if lines is None else [(str(s), int(q)) for s, q in lines],
                         restock=restock)

    def set_stock(self, sku: str, quantity: int | None = None, delta: int | None = None) -> None:
        self.shop.merchant_stock(sku, quantity=quantity, delta=delta)

    def available(self, sku: str) -> int | None:
        found = self.shop.by_code.get(sku)
        return None if found is None else found.stock

    def order_ids(self) -> list[str]:
        """Every order the shop holds, for exactly-once checks."""
        with self.shop.lock:
            return [str(order_id) for order_id in self.shop.orders]

    def shipments(self, order_id: str | None = None) -> list[ChannelShipment]:
        with self.shop.lock:
            orders = [self.shop.order(order_id)] if order_id is not None else list(self.shop.orders.values())
            return [ChannelShipment(str(order.order_id), package.tracking_number, package.carrier,
                                    tuple((order.line(line_id).sku.code, qty) for line_id, qty in package.lines))
                    for order in orders for package in order.packages]

    def set_push_url(self, url: str) -> bool:
        self.push_url = url
        return True

    def flush_events(self, timeout: float = 10.0) -> None:
        self.pushes.flush(timeout)

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Faults.configure keys, the push fault rates, and this platform's own options."""
        spec = dict(spec)
        for key in [k for k in spec if k in self.default_options]:
            value = spec.pop(key)
            default = self.default_options[key]
            self.options[key] = value if value is None or default is None else type(default)(value)
        if "push_loss_rate" in spec:
            self.pushes.loss_rate = float(spec.pop("push_loss_rate"))
        if "push_duplicate_rate" in spec:
            self.pushes.duplicate_rate = float(spec.pop("push_duplicate_rate"))
        if "seed" in spec:
            self.pushes.rng.seed(spec["seed"])
        try:
            self.faults.configure(spec)
        except ValueError as error:
            raise ValueError(f"{error}; {self.platform} also takes {sorted([*self.default_options, *PUSH_FAULT_KEYS])}"
                             ) from None
        return self.settings()

    def settings(self) -> dict[str, Any]:
        return {**self.faults.as_dict(), **self.options, "push_loss_rate": self.pushes.loss_rate,
                "push_duplicate_rate": self.pushes.duplicate_rate}

    def request_counts(self) -> dict[str, Any]:
        return {**self.requests.as_dict(), "throttled": self.limits.refused}

    def reset_counters(self) -> None:
        self.requests.reset()
        self.writes.clear()
        self.limits.refused = 0

    # ---- plumbing --------------------------------------------------------------------------
    def _on_events(self, events: list[ShopEvent]) -> None:
        if self.push_url is None:
            return
        doubled = max(self.pushes.duplicate_rate, self.faults.duplicate_webhooks)  # either fault setting
        for message_ids, payload in self.pushes_for(events):
            self.pushes.push(message_ids, PushBuilder(self, payload), duplicate_rate=doubled,
                             reorder=self.faults.reorder_webhooks)

    def state(self) -> dict[str, Any]:
        """Everything a test wants to assert on, JSON-safe."""
        with self.shop.lock:
            return {
                "platform": self.platform, "name": self.name, "push_url": self.push_url,
                "skus": [{"sku": s.code, "sku_id": s.sku_id, "product_id": s.product_id, "stock": s.stock,
                          "reserved": s.reserved} for s in self.shop.skus.values()],
                "orders": [{"order_id": str(o.order_id), "state": o.state,
                            "lines": [{"sku": li.sku.code, "quantity": li.quantity, "shipped": li.shipped,
                                       "refunded": li.refunded} for li in o.lines],
                            "packages": [{"tracking_number": p.tracking_number, "carrier": p.carrier}
                                         for p in o.packages]} for o in self.shop.orders.values()],
                "pushes": self.pushes.summary(), "settings": self.settings(),
                "clock_factor": self.clock.factor,
            }

    def require_push_url(self) -> str:
        if self.push_url is None:
            raise SimulatorError(f"{self.platform}: no push URL is set")
        return self.push_url
