"""A Shopify Admin API (2026-04) simulator: GraphQL validated against the published schema,
calculated query cost with a leaky bucket, a REST subset, signed webhooks, and a control plane.

Modules: `model` (records, ids), `store` (state + inventory), `orders` (order flows),
`schema` (SDL, validation), `cost` (query cost, buckets), `search` (query syntax, cursors),
`views`/`order_views` (GraphQL objects), `resolvers`/`mutations`/`inventory_mutations`,
`graphql_api`, `rest`, `payloads` (REST/webhook JSON), `webhooks`, `control`, `shop`, `app`.
"""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.catalogue import SeedSpec
from sandbox.runtime import Clock, Faults, RequestCounter, ServerThread, WebhookSender, WriteLog
from sandbox.shopify import control
from sandbox.shopify.app import create_app
from sandbox.shopify.schema import admin_schema
from sandbox.shopify.shop import API_VERSION, ShopRuntime
from sandbox.shopify.store import Store, StoreError

__all__ = ["ShopifySandbox", "StoreError"]


class ShopifySandbox:
    """One simulated shop served on loopback; also the Python face of its control plane."""

    platform = "shopify"

    def __init__(self, *, port: int = 0, seed: int | None = None, spec: SeedSpec | None = None,
                 shop: str = "demo-shop", plan: str = "standard", clock_factor: float = 1.0,
                 currency: str = "EUR") -> None:
        self.clock = Clock(clock_factor)
        self.faults = Faults()
        self.writes = WriteLog()
        self.requests = RequestCounter()
        self.webhooks = WebhookSender(self.faults)
        self.shop_domain = f"{shop}.myshopify.com"
        self.access_token = "shpat_" + secrets.token_hex(16)
        self.client_secret = "shpss_" + secrets.token_hex(16)
        self.api_version = API_VERSION
        store = Store(shop=shop, currency=currency, writes=self.writes, faults=self.faults)
        self.runtime = ShopRuntime(store, self.clock, self.faults, self.writes, self.requests, self.webhooks,
                                   self.shop_domain, self.access_token, self.client_secret, plan=plan)
        self.store = store
        self.app = create_app(self.runtime)
        self._server = ServerThread(self.app, port)
        self._running = False
        admin_schema()  # build once per process, before the first request waits on it
        if spec is not None or seed is not None:
            self.seed(spec if spec is not None else SeedSpec(seed=seed if seed is not None else 1))

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self._server.url

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/admin/api/{self.api_version}/graphql.json"

    def start(self) -> ShopifySandbox:
        if not self._running:
            self._server.start()
            self.runtime.public_url = self._server.url
            self._running = True
        return self

    def stop(self) -> None:
        if self._running:
            self._server.stop()
            self._running = False
        self.webhooks.close()

    def __enter__(self) -> ShopifySandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def info(self) -> dict[str, Any]:
        return {"platform": self.platform, "url": self.url, "shop_domain": self.shop_domain,
                "access_token": self.access_token, "client_secret": self.client_secret,
                "api_version": self.api_version, "graphql_url": self.graphql_url}

    # -- control plane --------------------------------------------------------------------------
    def seed(self, spec: SeedSpec | int | None = None) -> dict[str, Any]:
        """Replace catalogue and orders with `spec` (an int is a seed with default settings)."""
        if spec is None or isinstance(spec, int):
            spec = SeedSpec(seed=spec if isinstance(spec, int) else 1)
        return control.seed(self.runtime, spec)

    def place_order(self, lines: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
        """A buyer's order (REST/webhook JSON); `customer=` and `email=` are optional."""
        return control.place_order(self.runtime, lines, kw.get("customer"), kw.get("email"))

    def cancel_order(self, order_id: int | str, restock: bool = True, reason: str = "CUSTOMER") -> dict[str, Any]:
        return control.cancel_order(self.runtime, order_id, restock, reason)

    def refund_order(self, order_id: int | str, lines: list[dict[str, Any]] | None = None,
                     restock: bool = True) -> dict[str, Any]:
        return control.refund_order(self.runtime, order_id, lines, restock)

    def set_stock(self, sku: str, quantity: int | None = None, delta: int | None = None,
                  location: str | int | None = None) -> dict[str, dict[str, int]]:
        return control.set_stock(self.runtime, sku, quantity, delta, location)

    def state(self) -> dict[str, Any]:
        return control.state(self.runtime)

    def quantities(self, sku: str) -> dict[str, dict[str, int]]:
        """{location gid: {available, on_hand, committed}} for `sku`."""
        return self.store.quantities_by_sku(sku)

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        """What `POST /_sandbox/faults` does: fault settings plus `plan`/`bucket`/`rest_bucket`."""
        return control.configure_faults(self.runtime, spec)

    def set_plan(self, plan: str) -> None:
        self.runtime.set_plan(plan)

    @property
    def bucket(self) -> Any:
        return self.runtime.bucket

    @property
    def rest_bucket(self) -> Any:
        return self.runtime.rest_bucket

    def request_counts(self) -> dict[str, Any]:
        return control.requests_summary(self.runtime)

    def reset_counters(self) -> None:
        control.reset_counters(self.runtime)
