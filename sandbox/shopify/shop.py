"""The running simulated shop: its store, credentials, buckets and counters, shared by the
GraphQL, REST and control-plane handlers."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.runtime import Clock, Faults, RequestCounter, WebhookSender, WriteLog
from sandbox.shopify.cost import PLANS, LeakyBucket
from sandbox.shopify.store import Store
from sandbox.shopify.webhooks import WebhookDispatcher

API_VERSION = "2026-04"
ACCESS_SCOPES = ["read_products", "write_products", "read_inventory", "write_inventory", "read_locations",
                 "read_orders", "write_orders", "read_fulfillments", "write_fulfillments",
                 "read_assigned_fulfillment_orders", "write_assigned_fulfillment_orders",
                 "read_merchant_managed_fulfillment_orders", "write_merchant_managed_fulfillment_orders"]
AUTH_ERROR = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


@dataclass
class ShopRuntime:
    store: Store
    clock: Clock
    faults: Faults
    writes: WriteLog
    requests: RequestCounter
    sender: WebhookSender
    shop_domain: str
    access_token: str
    client_secret: str
    plan: str = "standard"
    public_url: str = ""  # set when the server starts
    api_version: str = API_VERSION
    access_scopes: list[str] = field(default_factory=lambda: list(ACCESS_SCOPES))
    throttled: Counter[str] = field(default_factory=Counter)
    throttled_operations: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)  # GraphQL documents run, by operation name
    points: Counter[str] = field(default_factory=Counter)      # cost points "requested" and "charged"
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        plan = PLANS[self.plan]
        self.bucket = LeakyBucket(plan.capacity, plan.restore_rate, self.clock)
        self.rest_bucket = LeakyBucket(plan.rest_capacity, plan.rest_rate, self.clock)
        self.dispatcher = WebhookDispatcher(self.store, self.sender, shop_domain=self.shop_domain,
                                            client_secret=self.client_secret, api_version=self.api_version)

    def authorised(self, headers: Any) -> bool:
        return bool(headers.get("x-shopify-access-token")) and headers.get("x-shopify-access-token") == \
            self.access_token

    def count_throttled(self, api: str, operation: str = "") -> None:
        with self._lock:
            self.throttled[api] += 1
            if operation:
                self.throttled_operations[operation] += 1

    def count_operation(self, operation: str, requested: int, charged: int) -> None:
        with self._lock:
            self.operations[operation] += 1
            self.points["requested"] += requested
            self.points["charged"] += charged

    def set_plan(self, plan: str) -> None:
        """Switch to a Shopify plan's bucket sizes and rates (both buckets start full)."""
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; known: {', '.join(PLANS)}")
        self.plan = plan
        limits = PLANS[plan]
        self.bucket.configure(capacity=limits.capacity, restore_rate=limits.restore_rate)
        self.rest_bucket.configure(capacity=limits.rest_capacity, restore_rate=limits.rest_rate)

    def configure_limits(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Apply `plan`, `bucket` and `rest_bucket` from a control-plane spec; the rest is returned."""
        rest = dict(spec)
        if "plan" in rest:
            self.set_plan(str(rest.pop("plan")))
        for key, bucket in (("bucket", self.bucket), ("rest_bucket", self.rest_bucket)):
            if key in rest:
                settings = rest.pop(key)
                unknown = set(settings) - {"capacity", "restore_rate", "available"}
                if unknown:
                    raise ValueError(f"unknown {key} settings: {sorted(unknown)}; known: available, capacity, "
                                     "restore_rate")
                bucket.configure(**settings)
        return rest

    def limits(self) -> dict[str, Any]:
        return {"plan": self.plan, "bucket": self.bucket.status(), "rest_bucket": self.rest_bucket.status(),
                "clock_factor": self.clock.factor}
