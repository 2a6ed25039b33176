"""The `/_sandbox/` control plane of the pushed-event simulators (JSON, no authentication).

The same routes as the other simulators — seed, orders and their cancel/refund, merchant stock,
faults, clock, state, writes, requests, reset-counters, and the shop's orders, shipments and
available stock read through the simulator interface — plus what these platforms need: ship
(the seller ships in the back office, partly if asked), complete (the buyer confirms receipt),
reserve (stock held for a live-stream activity), push-url (the console setting) and flush.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.catalogue import SeedSpec
from sandbox.interface import OutOfStock, SimulatorError, available_json, shipments_json
from sandbox.pushshop.shop import UnknownOrder, UnknownSku

if TYPE_CHECKING:
    from sandbox.pushshop.simulator import PushShopSimulator

Handler = Callable[["PushShopSimulator", dict[str, Any], Request], Any]


def _simulator(request: Request) -> PushShopSimulator:
    value: PushShopSimulator = request.app.state.simulator
    return value


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _refusal(error: Exception) -> Response:
    if isinstance(error, UnknownSku | UnknownOrder):
        return JSONResponse({"error": str(error)}, status_code=404)
    if isinstance(error, OutOfStock):
        return JSONResponse({"error": str(error), "code": "out_of_stock"}, status_code=409)
    if isinstance(error, SimulatorError):
        return JSONResponse({"error": str(error)}, status_code=409)
    return JSONResponse({"error": str(error) or type(error).__name__}, status_code=400)


def _endpoint(handler: Handler, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            result = handler(_simulator(request), await _body(request), request)
        except (ValueError, KeyError, TypeError, SimulatorError) as error:
            return _refusal(error)
        return JSONResponse(result, status_code=status)
    return endpoint


def _lines(data: dict[str, Any]) -> list[tuple[str, int]]:
    return [(str(line["sku"]), int(line["quantity"])) for line in data.get("lines") or []]


def _place(sim: PushShopSimulator, data: dict[str, Any], _: Request) -> dict[str, Any]:
    placed = sim.place_order(_lines(data), buyer=data.get("buyer"), at=data.get("at"))
    return {"order_id": placed.order_id, "number": placed.number,
            "lines": [{"sku": s, "quantity": q} for s, q in placed.lines], "accepted_at": placed.accepted_at}


def _cancel(sim: PushShopSimulator, data: dict[str, Any], request: Request) -> dict[str, Any]:
    sim.cancel_order(request.path_params["id"], restock=bool(data.get("restock", True)))
    return {"ok": True}


def _refund(sim: PushShopSimulator, data: dict[str, Any], request: Request) -> dict[str, Any]:
    lines = _lines(data) if data.get("lines") else None
    sim.refund_order(request.path_params["id"], lines, restock=bool(data.get("restock", True)))
    return {"ok": True}


def _ship(sim: PushShopSimulator, data: dict[str, Any], request: Request) -> dict[str, Any]:
    order = sim.shop.order(request.path_params["id"])
    lines = None
    if data.get("lines"):
        by_sku = {line.sku.code: line.line_id for line in order.lines}
        lines = [(by_sku[code], qty) for code, qty in _lines(data)]
    package = sim.shop.ship(order.order_id, tracking_number=str(data["tracking_number"]),
                            carrier=str(data["carrier"]), lines=lines)
    return {"package_id": package.package_id, "state": order.state}


def _complete(sim: PushShopSimulator, _: dict[str, Any], request: Request) -> dict[str, Any]:
    return {"state": sim.shop.complete(request.path_params["id"]).state}


def _stock(sim: PushShopSimulator, data: dict[str, Any], _: Request) -> dict[str, Any]:
    quantity, delta = data.get("quantity"), data.get("delta")
    sim.set_stock(str(data["sku"]), None if quantity is None else int(quantity), None if delta is None else int(delta))
    return {"sku": data["sku"], "available": sim.available(str(data["sku"]))}


def _reserve(sim: PushShopSimulator, data: dict[str, Any], _: Request) -> dict[str, Any]:
    sku = sim.shop.reserve(str(data["sku"]), int(data["quantity"]))
    return {"sku": sku.code, "stock": sku.stock, "reserved": sku.reserved}


def _clock(sim: PushShopSimulator, data: dict[str, Any], _: Request) -> dict[str, Any]:
    sim.clock.set_factor(float(data["factor"]))
    return {"factor": sim.clock.factor}


def _push_url(sim: PushShopSimulator, data: dict[str, Any], _: Request) -> dict[str, Any]:
    return {"ok": sim.set_push_url(str(data["url"])), "url": sim.push_url}


def _flush(sim: PushShopSimulator, data: dict[str, Any], _: Request) -> dict[str, Any]:
    sim.flush_events(float(data.get("timeout", 10.0)))
    return {"pending": sim.pushes.pending()}


def _reset(sim: PushShopSimulator, _: dict[str, Any], __: Request) -> dict[str, Any]:
    sim.reset_counters()
    return {"ok": True}


def _get(read: Callable[[PushShopSimulator], Any]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return JSONResponse(read(_simulator(request)))
    return endpoint


def routes() -> list[Route]:
    post = [
        ("/_sandbox/seed", lambda sim, data, _: sim.seed(SeedSpec.from_json(data)), 200),
        ("/_sandbox/orders", _place, 201),
        ("/_sandbox/orders/{id}/cancel", _cancel, 200),
        ("/_sandbox/orders/{id}/refund", _refund, 200),
        ("/_sandbox/orders/{id}/ship", _ship, 200),
        ("/_sandbox/orders/{id}/complete", _complete, 200),
        ("/_sandbox/stock", _stock, 200),
        ("/_sandbox/reserve", _reserve, 200),
        ("/_sandbox/faults", lambda sim, data, _: sim.configure(data), 200),
        ("/_sandbox/clock", _clock, 200),
        ("/_sandbox/push-url", _push_url, 200),
        ("/_sandbox/flush", _flush, 200),
        ("/_sandbox/reset-counters", _reset, 200),
        ("/_sandbox/available", lambda sim, data, _: available_json(sim, list(data["skus"])), 200),
    ]
    get = [
        ("/_sandbox/state", lambda sim: sim.state()),
        ("/_sandbox/writes", lambda sim: sim.writes.entries()),
        ("/_sandbox/requests", lambda sim: sim.request_counts()),
        ("/_sandbox/orders", lambda sim: {"orders": sim.order_ids()}),
        ("/_sandbox/shipments", shipments_json),
        ("/_sandbox/info", lambda sim: sim.info()),
    ]
    return [*(Route(path, _endpoint(handler, status), methods=["POST"]) for path, handler, status in post),
            *(Route(path, _get(read), methods=["GET"]) for path, read in get)]
