"""The control plane: what a test, the demo or a benchmark does to a store from outside.

`Controller` holds the operations (place an order, a merchant stock edit, faults, clock);
`ROUTES` exposes them as JSON under `/_sandbox/` without authentication, the same control
plane every simulator offers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.catalogue import SeedSpec
from sandbox.runtime import Clock, RequestCounter, WriteLog
from sandbox.woocommerce import orders
from sandbox.woocommerce.context import Sim
from sandbox.woocommerce.errors import WooError
from sandbox.woocommerce.serialise import note_json, order_json, tracking_json, webhook_json
from sandbox.woocommerce.store import OutOfStock, UnknownSku, WooStore
from sandbox.woocommerce.webhooks import WebhookHub


@dataclass
class Controller:
    sim: Sim
    hub: WebhookHub
    clock: Clock
    writes: WriteLog
    requests: RequestCounter

    @property
    def store(self) -> WooStore:
        return self.sim.store

    def seed(self, spec: SeedSpec) -> dict[str, Any]:
        self.store.seed(spec)
        return {"products": len(self.store.parents()), "skus": len(self._stock())}

    def place_order(self, lines: list[dict[str, Any]], *, customer: dict[str, Any] | None = None,
                    status: str = "processing", customer_note: str = "") -> dict[str, Any]:
        with self.store.lock:
            order = orders.place_order(self.store, lines, customer=customer, status=status,
                                       customer_note=customer_note)
            return order_json(self.store, order)

    def cancel_order(self, order_id: int, *, restock: bool = True) -> dict[str, Any]:
        with self.store.lock:
            order = orders.find_order(self.store, order_id)
            orders.change_status(self.store, order, "cancelled", restock=restock)
            self.store.emit("order.updated", order.id)
            return order_json(self.store, order)

    def refund_order(self, order_id: int, *, lines: list[dict[str, Any]] | None = None,
                     restock: bool = True, reason: str = "") -> dict[str, Any]:
        with self.store.lock:
            order = orders.find_order(self.store, order_id)
            orders.refund_order(self.store, order, lines=lines, restock=restock, reason=reason)
            self.store.emit("order.updated", order.id)
            return order_json(self.store, order)

    def set_stock(self, sku: str, *, quantity: int | None = None, delta: int | None = None) -> dict[str, Any]:
        product = self.store.merchant_stock(sku, quantity=quantity, delta=delta)
        return {"sku": sku, "id": product.id, "stock_quantity": product.stock_quantity}

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Faults.configure plus this platform's switches `request_limit` and `shipment_tracking`."""
        spec = dict(spec)
        if "request_limit" in spec:
            limit = spec.pop("request_limit")
            self.sim.options.request_limit = int(limit) if limit else None
        if "shipment_tracking" in spec:
            self.sim.options.shipment_tracking = bool(spec.pop("shipment_tracking"))
        self.sim.faults.configure(spec)
        return self.settings()

    def settings(self) -> dict[str, Any]:
        return {**self.sim.faults.as_dict(), "request_limit": self.sim.options.request_limit,
                "shipment_tracking": self.sim.options.shipment_tracking}

    def _stock(self) -> dict[str, int | None]:
        return {p.sku: (p.stock_quantity if p.manage_stock else None)
                for p in self.store.products.values() if p.sku and p.type != "variable"}

    def state(self) -> dict[str, Any]:
        """Everything a test wants to assert on, JSON-safe."""
        with self.store.lock:
            store = self.store
            products = [{"id": p.id, "type": p.type, "parent_id": p.parent_id, "name": p.name, "sku": p.sku,
                         "status": p.status, "price": p.price, "manage_stock": p.manage_stock,
                         "stock_quantity": p.stock_quantity, "stock_status": p.stock_status}
                        for p in sorted(store.products.values(), key=lambda p: p.id)]
            return {
                "platform": "woocommerce", "currency": store.currency, "products": products,
                "stock": self._stock(),
                "orders": [{"id": o.id, "status": o.status, "total": str(o.total),
                            "lines": [{"sku": li.sku, "quantity": li.quantity} for li in o.line_items],
                            "trackings": [t.number for t in o.trackings]}
                           for o in store.orders.values()],
                "webhooks": [{**webhook_json(store, h), "failure_count": h.failure_count}
                             for h in store.webhooks.values()],
                "settings": self.settings(), "clock_factor": self.clock.factor,
            }

    def order(self, order_id: int) -> dict[str, Any]:
        with self.store.lock:
            return order_json(self.store, orders.find_order(self.store, order_id))

    def notes(self, order_id: int) -> list[dict[str, Any]]:
        with self.store.lock:
            order = orders.find_order(self.store, order_id)
            return [note_json(self.store, n) for n in self.store.notes.get(order.id, [])]

    def trackings(self, order_id: int) -> list[dict[str, Any]]:
        with self.store.lock:
            order = orders.find_order(self.store, order_id)
            return [tracking_json(self.store, order.id, t) for t in order.trackings]


def _controller(request: Request) -> Controller:
    value: Controller = request.app.state.controller
    return value


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _refusal(error: Exception) -> Response:
    """Control-plane errors: a plain message and a status that says what went wrong."""
    if isinstance(error, WooError):
        return JSONResponse({"error": error.message, "code": error.code}, status_code=error.status)
    if isinstance(error, UnknownSku):
        return JSONResponse({"error": f"unknown sku {error.args[0]!r}"}, status_code=404)
    if isinstance(error, OutOfStock):
        return JSONResponse({"error": str(error), "code": "insufficient_stock"}, status_code=409)
    return JSONResponse({"error": str(error)}, status_code=400)


async def seed(request: Request) -> Response:
    try:
        return JSONResponse(_controller(request).seed(SeedSpec.from_json(await _json(request))))
    except (ValueError, TypeError) as error:
        return _refusal(error)


async def place_order(request: Request) -> Response:
    try:
        data = await _json(request)
        order = _controller(request).place_order(
            list(data.get("lines") or []), customer=data.get("customer"),
            status=str(data.get("status", "processing")), customer_note=str(data.get("customer_note", "")))
        return JSONResponse(order, status_code=201)
    except (ValueError, KeyError, WooError, OutOfStock) as error:
        return _refusal(error)


async def cancel_order(request: Request) -> Response:
    try:
        data = await _json(request)
        order = _controller(request).cancel_order(int(request.path_params["id"]),
                                                  restock=bool(data.get("restock", True)))
        return JSONResponse(order)
    except (ValueError, WooError) as error:
        return _refusal(error)


async def refund_order(request: Request) -> Response:
    try:
        data = await _json(request)
        order = _controller(request).refund_order(
            int(request.path_params["id"]), lines=data.get("lines"),
            restock=bool(data.get("restock", True)), reason=str(data.get("reason", "")))
        return JSONResponse(order)
    except (ValueError, WooError) as error:
        return _refusal(error)


async def stock(request: Request) -> Response:
    try:
        data = await _json(request)
        quantity, delta = data.get("quantity"), data.get("delta")
        result = _controller(request).set_stock(
            str(data["sku"]), quantity=None if quantity is None else int(quantity),
            delta=None if delta is None else int(delta))
        return JSONResponse(result)
    except (ValueError, KeyError) as error:
        return _refusal(error)


async def faults(request: Request) -> Response:
    try:
        return JSONResponse(_controller(request).configure(await _json(request)))
    except (ValueError, TypeError, KeyError) as error:
        return _refusal(error)


async def clock(request: Request) -> Response:
    try:
        data = await _json(request)
        controller = _controller(request)
        controller.clock.set_factor(float(data["factor"]))
        return JSONResponse({"factor": controller.clock.factor})
    except (ValueError, KeyError, TypeError) as error:
        return _refusal(error)


async def state(request: Request) -> Response:
    return JSONResponse(_controller(request).state())


async def writes(request: Request) -> Response:
    return JSONResponse(_controller(request).writes.entries())


async def requests(request: Request) -> Response:
    return JSONResponse(_controller(request).requests.as_dict())


async def reset_counters(request: Request) -> Response:
    controller = _controller(request)
    controller.requests.reset()
    controller.writes.clear()
    return JSONResponse({"ok": True})


ROUTES = [
    Route("/_sandbox/seed", seed, methods=["POST"]),
    Route("/_sandbox/orders", place_order, methods=["POST"]),
    Route("/_sandbox/orders/{id:int}/cancel", cancel_order, methods=["POST"]),
    Route("/_sandbox/orders/{id:int}/refund", refund_order, methods=["POST"]),
    Route("/_sandbox/stock", stock, methods=["POST"]),
    Route("/_sandbox/faults", faults, methods=["POST"]),
    Route("/_sandbox/clock", clock, methods=["POST"]),
    Route("/_sandbox/state", state, methods=["GET"]),
    Route("/_sandbox/writes", writes, methods=["GET"]),
    Route("/_sandbox/requests", requests, methods=["GET"]),
    Route("/_sandbox/reset-counters", reset_counters, methods=["POST"]),
]
