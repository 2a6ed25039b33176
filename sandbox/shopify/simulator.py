"""`ShopifySimulator`: the Shopify simulator behind the shared interface (`sandbox.interface`).

`ShopifySandbox` keeps Shopify's own Python control plane (REST/webhook JSON in and out, plans,
buckets, several locations); this class drives the same shop in the interface's terms, so the
demo, the benchmarks and the contract suite reach Shopify without naming it. Orders are named by
the id the Admin API returns (`gid://shopify/Order/N`); the hub's stock location is the first one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

from sandbox.catalogue import SeedSpec
from sandbox.interface import AccountSetup, ChannelShipment, EventDelivery, OutOfStock, PlacedOrder, Simulator
from sandbox.interface import SimulatorError as InterfaceError
from sandbox.runtime import Clock, Faults, RequestCounter, WriteLog
from sandbox.shopify import ShopifySandbox
from sandbox.shopify.model import gid
from sandbox.shopify.store import StoreError

__all__ = ["ShopifySimulator"]


class ShopifySimulator:
    """One simulated Shopify shop, driven through the shared simulator interface."""

    platform: ClassVar[str] = "shopify"
    event_delivery: ClassVar[EventDelivery] = EventDelivery.REGISTERED

    def __init__(self, *, port: int = 0, clock_factor: float = 1.0, name: str = "demo-shop",
                 plan: str = "standard", currency: str = "EUR") -> None:
        self.sandbox = ShopifySandbox(port=port, shop=name, plan=plan, clock_factor=clock_factor, currency=currency)
        self.clock: Clock = self.sandbox.clock
        self.faults: Faults = self.sandbox.faults
        self.writes: WriteLog = self.sandbox.writes
        self.requests: RequestCounter = self.sandbox.requests

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.sandbox.url

    def start(self) -> ShopifySimulator:
        self.sandbox.start()
        return self

    def stop(self) -> None:
        self.sandbox.stop()

    def __enter__(self) -> ShopifySimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def info(self) -> dict[str, Any]:
        return self.sandbox.info()

    def account_setup(self) -> AccountSetup:
        box = self.sandbox
        return AccountSetup(self.platform, {"shop": box.shop_domain, "base_url": box.url},
                            {"access_token": box.access_token, "client_secret": box.client_secret})

    # -- the simulator interface ------------------------------------------------------------------
    def seed(self, spec: SeedSpec | int | None = None) -> dict[str, Any]:
        return self.sandbox.seed(spec)

    def place_order(self, lines: Sequence[tuple[str, int]], *, buyer: str | None = None) -> PlacedOrder:
        wanted = [{"sku": sku, "quantity": int(quantity)} for sku, quantity in lines]
        customer = {"email": f"{buyer}@example.com"} if buyer else None
        try:
            order = self.sandbox.place_order(wanted, customer=customer)
        except StoreError as exc:
            raise (OutOfStock if exc.code == "NOT_ENOUGH_STOCK" else InterfaceError)(str(exc)) from None
        return PlacedOrder(str(order["admin_graphql_api_id"]), str(order["name"]),
                           tuple((str(item["sku"]), int(item["quantity"])) for item in order["line_items"]),
                           time.time())

    def cancel_order(self, order_id: str, *, restock: bool = True) -> None:
        self._control(self.sandbox.cancel_order, order_id, restock=restock)

    def refund_order(self, order_id: str, lines: Sequence[tuple[str, int]] | None = None, *,
                     restock: bool = True) -> None:
        wanted = None if lines is None else [{"sku": sku, "quantity": int(n)} for sku, n in lines]
        self._control(self.sandbox.refund_order, order_id, wanted, restock=restock)

    def set_stock(self, sku: str, quantity: int | None = None, delta: int | None = None) -> None:
        self._control(self.sandbox.set_stock, sku, quantity, delta)

    def available(self, sku: str) -> int | None:
        store = self.sandbox.store
        with store.lock:
            variant = next((v for v in store.variants.values() if v.sku == sku), None)
            if variant is None:
                return None
            item = store.item_of(variant)
            if not item.tracked:
                return None
            level = item.levels.get(store.first_location_id())
            return None if level is None else int(level.available)

    def shipments(self, order_id: str | None = None) -> list[ChannelShipment]:
        store = self.sandbox.store
        found = []
        with store.lock:
            for record in store.fulfillments.values():
                order = store.orders[record.order_id]
                external = gid("Order", order.id)
                if order_id is not None and order_id not in (external, str(order.id)):
                    continue
                skus = {line.id: line.sku for line in order.line_items}
                lines = tuple((str(skus[line_id]), int(quantity)) for _, line_id, quantity in record.lines)
                company = next((str(t["company"]) for t in record.tracking if t.get("company")), "")
                found += [ChannelShipment(external, str(t["number"]), company, lines)
                          for t in record.tracking if t.get("number")]
        return found

    def set_push_url(self, url: str) -> bool:
        return False  # webhooks are subscribed through the Admin API, not set in a console

    def flush_events(self, timeout: float = 10.0) -> None:
        self.sandbox.webhooks.flush(timeout)

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        return self.sandbox.configure(spec)

    def request_counts(self) -> dict[str, Any]:
        return self.sandbox.request_counts()

    def reset_counters(self) -> None:
        self.sandbox.reset_counters()

    @staticmethod
    def _control(action: Any, *args: Any, **kwargs: Any) -> None:
        try:
            action(*args, **kwargs)
        except StoreError as exc:
            raise InterfaceError(str(exc)) from None


_CONFORMS: type[Simulator] = ShopifySimulator  # mypy checks the class against the shared interface
