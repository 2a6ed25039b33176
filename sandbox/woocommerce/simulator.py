"""`WooCommerceSimulator`: the WooCommerce simulator behind the shared interface (`sandbox.interface`).

`WooCommerceSandbox` keeps WooCommerce's own Python control plane (REST JSON in and out, order
notes, the shipment-tracking switch); this class drives the same store in the interface's terms.
Order ids are WooCommerce's numeric ids as strings; `corrupt_ids` accepts SKUs (turned into the
record ids the store marks) as well as record ids.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from sandbox.catalogue import SeedSpec
from sandbox.interface import AccountSetup, ChannelShipment, EventDelivery, OutOfStock, PlacedOrder, Simulator
from sandbox.interface import SimulatorError as InterfaceError
from sandbox.runtime import Clock, Faults, RequestCounter, WriteLog
from sandbox.woocommerce import WooCommerceSandbox
from sandbox.woocommerce.errors import WooError
from sandbox.woocommerce.store import OutOfStock as WooOutOfStock
from sandbox.woocommerce.store import UnknownSku

__all__ = ["WooCommerceSimulator"]


class WooCommerceSimulator:
    """One simulated WooCommerce store, driven through the shared simulator interface."""

    platform: ClassVar[str] = "woocommerce"
    event_delivery: ClassVar[EventDelivery] = EventDelivery.REGISTERED

    def __init__(self, *, port: int = 0, clock_factor: float = 1.0, name: str = "woo",
                 currency: str = "EUR", request_limit: int | None = None, webhook_attempts: int = 1) -> None:
        self.sandbox = WooCommerceSandbox(port=port, currency=currency, request_limit=request_limit,
                                          clock_factor=clock_factor, webhook_attempts=webhook_attempts)
        self.name = name
        # The secret the hub signs its webhook subscriptions with (WooCommerce lets the caller choose).
        self.webhook_secret = "whsec_" + hashlib.sha1(f"{name}:{self.sandbox.consumer_key}".encode()).hexdigest()
        self.clock: Clock = self.sandbox.clock
        self.faults: Faults = self.sandbox.faults
        self.writes: WriteLog = self.sandbox.writes
        self.requests: RequestCounter = self.sandbox.requests

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.sandbox.url

    def start(self) -> WooCommerceSimulator:
        self.sandbox.start()
        return self

    def stop(self) -> None:
        self.sandbox.stop()

    def __enter__(self) -> WooCommerceSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def info(self) -> dict[str, Any]:
        return {**self.sandbox.info(), "webhook_secret": self.webhook_secret}

    def account_setup(self) -> AccountSetup:
        box = self.sandbox
        return AccountSetup(self.platform, {"url": box.url},
                            {"consumer_key": box.consumer_key, "consumer_secret": box.consumer_secret,
                             "webhook_secret": self.webhook_secret})

    # -- the simulator interface ------------------------------------------------------------------
    def seed(self, spec: SeedSpec | int | None = None) -> dict[str, Any]:
        if not isinstance(spec, SeedSpec):
            spec = SeedSpec() if spec is None else SeedSpec(seed=spec)
        return self.sandbox.seed(spec)

    def place_order(self, lines: Sequence[tuple[str, int]], *, buyer: str | None = None) -> PlacedOrder:
        wanted = [{"sku": sku, "quantity": int(quantity)} for sku, quantity in lines]
        customer = {"email": f"{buyer}@example.com"} if buyer else None
        try:
            order = self.sandbox.place_order(wanted, customer=customer)
        except WooOutOfStock as exc:
            raise OutOfStock(str(exc)) from None
        except (UnknownSku, ValueError, WooError) as exc:
            raise InterfaceError(f"woocommerce store {self.name}: {exc}") from None
        return PlacedOrder(str(order["id"]), str(order["number"]),
                           tuple((str(line["sku"]), int(line["quantity"])) for line in order["line_items"]),
                           time.time())

    def cancel_order(self, order_id: str, *, restock: bool = True) -> None:
        self._control(lambda: self.sandbox.cancel_order(_order_number(order_id), restock=restock))

    def refund_order(self, order_id: str, lines: Sequence[tuple[str, int]] | None = None, *,
                     restock: bool = True) -> None:
        wanted = None if lines is None else [{"sku": sku, "quantity": int(n)} for sku, n in lines]
        self._control(lambda: self.sandbox.refund_order(_order_number(order_id), wanted, restock=restock))

    def set_stock(self, sku: str, quantity: int | None = None, delta: int | None = None) -> None:
        self._control(lambda: self.sandbox.set_stock(sku, quantity, delta))

    def available(self, sku: str) -> int | None:
        try:
            return self.sandbox.stock(sku)
        except UnknownSku:
            return None

    def shipments(self, order_id: str | None = None) -> list[ChannelShipment]:
        store = self.sandbox.store
        with store.lock:
            orders = [store.order(_order_number(order_id))] if order_id is not None else list(store.orders.values())
            return [ChannelShipment(str(order.id), str(tracking.number), str(tracking.provider or ""))
                    for order in orders if order is not None for tracking in order.trackings]

    def set_push_url(self, url: str) -> bool:
        return False  # webhooks are created through the REST API, not set in a console

    def flush_events(self, timeout: float = 10.0) -> None:
        self.sandbox.flush_webhooks(timeout)

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        spec = dict(spec)
        if "corrupt_ids" in spec:
            spec["corrupt_ids"] = [self._record_id(str(item)) for item in spec["corrupt_ids"]]
        return self.sandbox.configure(spec)

    def request_counts(self) -> dict[str, Any]:
        counts = self.requests.as_dict()
        return {**counts, "throttled": int(counts["by_status"].get("429", 0))}

    def reset_counters(self) -> None:
        self.requests.reset()
        self.writes.clear()

    def _record_id(self, sku_or_id: str) -> str:
        try:
            return str(self.sandbox.store.by_sku(sku_or_id).id)
        except UnknownSku:
            return sku_or_id

    def _control(self, action: Any) -> None:
        try:
            action()
        except (UnknownSku, ValueError, WooError) as exc:
            raise InterfaceError(f"woocommerce store {self.name}: {exc}") from None


def _order_number(order_id: str | int) -> int:
    try:
        return int(order_id)
    except (TypeError, ValueError):
        raise InterfaceError(f"a WooCommerce order id is a number, got {order_id!r}") from None


_CONFORMS: type[Simulator] = WooCommerceSimulator  # mypy checks the class against the shared interface
