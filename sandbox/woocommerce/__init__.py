"""A WooCommerce REST API v3 simulator (`/wp-json/wc/v3/`) with the sandbox control plane.

    with WooCommerceSandbox(seed=1) as woo:
        httpx.get(f"{woo.url}/wp-json/wc/v3/products", auth=(woo.consumer_key, woo.consumer_secret))
        woo.place_order([{"sku": "MS-0001-1", "quantity": 2}])
"""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.catalogue import SeedSpec
from sandbox.runtime import Clock, Faults, RequestCounter, ServerThread, WriteLog, free_port
from sandbox.woocommerce.app import create_app
from sandbox.woocommerce.context import Options, Sim
from sandbox.woocommerce.control import Controller
from sandbox.woocommerce.store import OutOfStock, UnknownSku, WooStore
from sandbox.woocommerce.webhooks import WebhookHub, signature

__all__ = ["OutOfStock", "UnknownSku", "WooCommerceSandbox", "signature"]


class WooCommerceSandbox:
    """One simulated store served on loopback from a thread, plus its Python control plane."""

    platform = "woocommerce"

    def __init__(self, *, port: int = 0, seed: int | None = None, spec: SeedSpec | None = None,
                 currency: str = "EUR", shipment_tracking: bool = True, request_limit: int | None = None,
                 clock_factor: float = 1.0, gmt_offset_hours: float = 2.0,
                 webhook_attempts: int = 1) -> None:
        self.clock = Clock(clock_factor)
        self.faults = Faults()
        self.writes = WriteLog()
        self.requests = RequestCounter()
        port = port or free_port()
        label = f"{port}:{seed}:{currency}"
        self.consumer_key = "ck_" + hashlib.sha1(f"key:{label}".encode()).hexdigest()
        self.consumer_secret = "cs_" + hashlib.sha1(f"secret:{label}".encode()).hexdigest()
        self.store = WooStore(clock=self.clock, writes=self.writes, currency=currency,
                              gmt_offset_hours=gmt_offset_hours)
        options = Options(self.consumer_key, self.consumer_secret, shipment_tracking, request_limit)
        self.sim = Sim(self.store, self.faults, options)
        self.webhooks = WebhookHub(self.store, self.faults, max_attempts=webhook_attempts)
        self.controller = Controller(self.sim, self.webhooks, self.clock, self.writes, self.requests)
        self.app = create_app(self.sim, self.controller, clock=self.clock, faults=self.faults,
                              counter=self.requests)
        self.server = ServerThread(self.app, port)
        self.store.base_url = self.server.url
        self.store.seed(spec or SeedSpec(seed=seed if seed is not None else 1))

    # ---- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The store's base URL; the REST API lives under `{url}/wp-json/wc/v3/`."""
        return self.server.url

    def start(self) -> WooCommerceSandbox:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.webhooks.close()

    def __enter__(self) -> WooCommerceSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def info(self) -> dict[str, Any]:
        return {"platform": self.platform, "url": self.url, "consumer_key": self.consumer_key,
                "consumer_secret": self.consumer_secret, "currency": self.store.currency,
                "api": f"{self.url}/wp-json/wc/v3"}

    # ---- control plane -------------------------------------------------------------------
    def seed(self, spec: SeedSpec) -> dict[str, Any]:
        """Replace catalogue and orders with the catalogue `spec` describes."""
        return self.controller.seed(spec)

    def place_order(self, lines: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
        """A buyer's order (`customer`, `status`="processing", `customer_note`); fires order.created."""
        return self.controller.place_order(lines, **kw)

    def cancel_order(self, order_id: int, restock: bool = True) -> dict[str, Any]:
        return self.controller.cancel_order(order_id, restock=restock)

    def refund_order(self, order_id: int, lines: list[dict[str, Any]] | None = None,
                     restock: bool = True) -> dict[str, Any]:
        """Refund `lines` ([{"sku", "quantity"}]; all by default), restocking them if asked."""
        return self.controller.refund_order(order_id, lines=lines, restock=restock)

    def set_stock(self, sku: str, quantity: int | None = None, delta: int | None = None) -> dict[str, Any]:
        """A merchant's stock edit in wp-admin; fires product.updated."""
        return self.controller.set_stock(sku, quantity=quantity, delta=delta)

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Same as POST /_sandbox/faults."""
        return self.controller.configure(spec)

    def state(self) -> dict[str, Any]:
        return self.controller.state()

    def stock(self, sku: str) -> int | None:
        """The SKU's stock level, None when stock is not managed."""
        return self.store.stock_of(sku)

    def order(self, order_id: int) -> dict[str, Any]:
        return self.controller.order(order_id)

    def trackings(self, order_id: int) -> list[dict[str, Any]]:
        return self.controller.trackings(order_id)

    def notes(self, order_id: int) -> list[dict[str, Any]]:
        return self.controller.notes(order_id)

    def flush_webhooks(self, timeout: float = 10.0) -> None:
        """Wait until queued webhook deliveries have been attempted."""
        self.webhooks.flush(timeout)
