"""The control plane under `/_sandbox/` (JSON, no auth) and the Python calls behind it.

Tests, the demo and benchmarks use it to seed the catalogue, act as a buyer or a merchant,
inject faults, speed up the clock, and read the state, the write log and request counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.catalogue import SeedSpec
from sandbox.runtime import Fault
from sandbox.shopify import orders, payloads
from sandbox.shopify.model import gid
from sandbox.shopify.shop import AUTH_ERROR, ShopRuntime
from sandbox.shopify.store import StoreError


def seed(shop: ShopRuntime, spec: SeedSpec) -> dict[str, Any]:
    shop.store.seed(spec)
    return {"products": len(shop.store.products), "variants": len(shop.store.variants),
            "locations": [gid("Location", loc) for loc in shop.store.locations]}


def place_order(shop: ShopRuntime, lines: list[dict[str, Any]], customer: dict[str, Any] | None = None,
                email: str | None = None) -> dict[str, Any]:
    with shop.store.lock:
        order = orders.place_order(shop.store, lines, customer=customer, email=email)
        return payloads.order(shop.store, order)


def cancel_order(shop: ShopRuntime, order_id: int | str, restock: bool = True,
                 reason: str = "CUSTOMER") -> dict[str, Any]:
    with shop.store.lock:
        order = orders.cancel(shop.store, orders.order_by_id(shop.store, order_id), restock=restock, reason=reason,
                              source="buyer")
        return payloads.order(shop.store, order)


def refund_order(shop: ShopRuntime, order_id: int | str, lines: list[dict[str, Any]] | None = None,
                 restock: bool = True) -> dict[str, Any]:
    with shop.store.lock:
        order = orders.order_by_id(shop.store, order_id)
        orders.refund(shop.store, order, lines, restock=restock)
        return payloads.order(shop.store, order)


def set_stock(shop: ShopRuntime, sku: str, quantity: int | None = None, delta: int | None = None,
              location: str | int | None = None) -> dict[str, dict[str, int]]:
    """A merchant edits `available` in the admin (absolute `quantity` or a `delta`)."""
    if (quantity is None) == (delta is None):
        raise StoreError("give exactly one of quantity or delta", "INVALID")
    store = shop.store
    with store.lock:
        item = store.item_of(store.variant_by_sku(sku))
        location_id = store.resolve_location(location)
        if quantity is not None:
            store.set_quantity(item, location_id, "available", int(quantity), kind="merchant_edit",
                               source="merchant", name="available", quantity=int(quantity))
        else:
            store.change_level(item, location_id, on_hand_delta=int(delta or 0), kind="merchant_edit",
                               source="merchant", name="available", delta=int(delta or 0))
        return store.quantities_by_sku(sku)


def state(shop: ShopRuntime) -> dict[str, Any]:
    store = shop.store
    with store.lock:
        products = []
        for product in store.products.values():
            entry = payloads.product(store, product)
            for variant_json in entry["variants"]:
                item = store.items[variant_json["inventory_item_id"]]
                variant_json["quantities"] = {gid("Location", loc): level.quantities()
                                              for loc, level in item.levels.items()}
            products.append(entry)
        return {
            "shop": {"name": store.shop, "domain": shop.shop_domain, "currency": store.currency},
            "locations": [{"id": gid("Location", loc.id), "name": loc.name} for loc in store.locations.values()],
            "products": products,
            "variants": [{"sku": v["sku"], "id": v["id"], "product_id": v["product_id"],
                          "inventory_item_id": v["inventory_item_id"], "quantities": v["quantities"]}
                         for p in products for v in p["variants"]],
            "orders": [payloads.order(store, o) for o in store.orders.values()],
            "fulfillments": [payloads.fulfillment(store, f) for f in store.fulfillments.values()],
            "webhooks": shop.dispatcher.state(),
            "limits": shop.limits(),
        }


def requests_summary(shop: ShopRuntime) -> dict[str, Any]:
    return {**shop.requests.as_dict(), "throttled": sum(shop.throttled.values()),
            "throttled_by_api": dict(shop.throttled), "throttled_by_operation": dict(shop.throttled_operations),
            "by_operation": dict(shop.operations), "points_requested": shop.points["requested"],
            "points_charged": shop.points["charged"]}


def reset_counters(shop: ShopRuntime) -> dict[str, Any]:
    """Forget request counts, THROTTLED counts and the write log."""
    shop.requests.reset()
    shop.throttled.clear()
    shop.throttled_operations.clear()
    shop.operations.clear()
    shop.points.clear()
    shop.writes.clear()
    return {"reset": True}


def set_clock(shop: ShopRuntime, factor: float) -> dict[str, Any]:
    shop.clock.set_factor(factor)
    return {"factor": shop.clock.factor, "limits": shop.limits()}


def configure_faults(shop: ShopRuntime, spec: dict[str, Any]) -> dict[str, Any]:
    shop.faults.configure(shop.configure_limits(spec))
    return {"faults": shop.faults.as_dict(), "limits": shop.limits()}


# -- HTTP ------------------------------------------------------------------------------------------
Handler = Callable[[ShopRuntime, dict[str, Any], dict[str, Any]], Any]


def _route(path: str, handler: Handler, methods: list[str]) -> Route:
    async def endpoint(request: Request) -> Response:
        shop: ShopRuntime = request.app.state.shop
        try:
            body = json.loads(await request.body() or b"{}") if request.method == "POST" else {}
            return JSONResponse(handler(shop, body, dict(request.path_params)))
        except StoreError as exc:
            status = 404 if exc.code == "NOT_FOUND" else 422
            return JSONResponse({"error": str(exc), "code": exc.code}, status_code=status)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"bad control request: {exc}"}, status_code=400)
    return Route(path, endpoint, methods=methods)


def routes() -> list[Route]:
    return [
        _route("/_sandbox/seed", lambda s, b, p: seed(s, SeedSpec.from_json(b)), ["POST"]),
        _route("/_sandbox/orders", lambda s, b, p: place_order(s, b["lines"], b.get("customer"), b.get("email")),
               ["POST"]),
        _route("/_sandbox/orders/{order_id}/cancel", lambda s, b, p: cancel_order(
            s, p["order_id"], bool(b.get("restock", True)), str(b.get("reason", "CUSTOMER"))), ["POST"]),
        _route("/_sandbox/orders/{order_id}/refund", lambda s, b, p: refund_order(
            s, p["order_id"], b.get("lines"), bool(b.get("restock", True))), ["POST"]),
        _route("/_sandbox/stock", lambda s, b, p: set_stock(s, b["sku"], b.get("quantity"), b.get("delta"),
                                                            b.get("location")), ["POST"]),
        _route("/_sandbox/faults", lambda s, b, p: configure_faults(s, b), ["POST"]),
        _route("/_sandbox/clock", lambda s, b, p: set_clock(s, float(b["factor"])), ["POST"]),
        _route("/_sandbox/state", lambda s, b, p: state(s), ["GET"]),
        _route("/_sandbox/writes", lambda s, b, p: {"writes": s.writes.entries()}, ["GET"]),
        _route("/_sandbox/requests", lambda s, b, p: requests_summary(s), ["GET"]),
        _route("/_sandbox/reset-counters", lambda s, b, p: reset_counters(s), ["POST"]),
    ]


def fault_response(request: Request, fault: Fault) -> Response:
    """How Shopify answers an injected failure (JSON `errors`, `Retry-After` when given)."""
    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    if fault.status == 429:
        message = "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
        return JSONResponse({"errors": message}, status_code=429, headers=headers or {"Retry-After": "2.0"})
    if fault.status == 401:
        return JSONResponse(AUTH_ERROR, status_code=401, headers=headers)
    try:
        phrase = HTTPStatus(fault.status).phrase
    except ValueError:
        phrase = "Error"
    return JSONResponse({"errors": phrase}, status_code=fault.status, headers=headers)

