"""The control plane under `/_sandbox/` (JSON, no auth) shared by the signed-gateway simulators: what
tests, the demo and benchmarks do to a shop from outside. Each route is one call on the simulator
the app holds (`app.state.simulator`); a simulator adds its own routes beside these."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.catalogue import SeedSpec
from sandbox.interface import OutOfStock, SimulatorError, available_json, shipments_json

Body = dict[str, Any]
Params = dict[str, str]
Handler = Callable[[Any, Body, Params], Any]


def lines(body: Body) -> list[tuple[str, int]] | None:
    """The body's `lines` as (sku, quantity) pairs; None when it names none."""
    raw = body.get("lines")
    if raw is None:
        return None
    return [(str(line["sku"]), int(line["quantity"])) for line in raw]


def route(path: str, handler: Handler, methods: list[str]) -> Route:
    """A control route: the JSON body (POST) and path parameters in, the handler's answer out as JSON;
    out of stock is 409, a refused request 422, a malformed one 400."""
    async def endpoint(request: Request) -> Response:
        sim = request.app.state.simulator
        try:
            body = json.loads(await request.body() or b"{}") if request.method == "POST" else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            return JSONResponse(handler(sim, body, dict(request.path_params)))
        except OutOfStock as error:
            return JSONResponse({"error": str(error), "code": "out_of_stock"}, status_code=409)
        except SimulatorError as error:
            return JSONResponse({"error": str(error)}, status_code=422)
        except (ValueError, KeyError, TypeError) as error:
            return JSONResponse({"error": f"bad control request: {error}"}, status_code=400)
    return Route(path, endpoint, methods=methods)


def _placed(sim: Any, body: Body, path: Params) -> dict[str, Any]:
    order = sim.place_order(lines(body) or [], buyer=body.get("buyer"))
    return {"order_id": order.order_id, "number": order.number, "lines": [list(li) for li in order.lines]}


def _cancel(sim: Any, body: Body, path: Params) -> dict[str, Any]:
    sim.cancel_order(path["order_id"], restock=bool(body.get("restock", True)))
    return {"cancelled": path["order_id"]}


def _refund(sim: Any, body: Body, path: Params) -> dict[str, Any]:
    sim.refund_order(path["order_id"], lines(body), restock=bool(body.get("restock", True)))
    return {"refunded": path["order_id"]}


def _stock(sim: Any, body: Body, path: Params) -> dict[str, Any]:
    sku = str(body["sku"])
    sim.set_stock(sku, body.get("quantity"), body.get("delta"))
    return {"sku": sku, "available": sim.available(sku)}


def _reset(sim: Any, body: Body, path: Params) -> dict[str, Any]:
    sim.reset_counters()
    return {"reset": True}


def common_routes(touch: Handler, *own: Route) -> list[Route]:
    """The routes every gateway simulator answers, with `touch` (an order modified now or at the
    body's platform-formatted time) and the simulator's `own` routes."""
    return [
        route("/_sandbox/seed", lambda s, b, p: s.seed(SeedSpec.from_json(b)), ["POST"]),
        route("/_sandbox/orders", _placed, ["POST"]),
        route("/_sandbox/orders/{order_id}/cancel", _cancel, ["POST"]),
        route("/_sandbox/orders/{order_id}/refund", _refund, ["POST"]),
        route("/_sandbox/orders/{order_id}/touch", touch, ["POST"]),
        route("/_sandbox/stock", _stock, ["POST"]),
        *own,
        route("/_sandbox/faults", lambda s, b, p: s.configure(b), ["POST"]),
        route("/_sandbox/clock", lambda s, b, p: s.set_clock(float(b["factor"])), ["POST"]),
        route("/_sandbox/state", lambda s, b, p: s.state(), ["GET"]),
        route("/_sandbox/orders", lambda s, b, p: {"orders": s.order_ids()}, ["GET"]),
        route("/_sandbox/shipments", lambda s, b, p: shipments_json(s), ["GET"]),
        route("/_sandbox/available", lambda s, b, p: available_json(s, list(b["skus"])), ["POST"]),
        route("/_sandbox/writes", lambda s, b, p: {"writes": s.writes.entries()}, ["GET"]),
        route("/_sandbox/requests", lambda s, b, p: s.request_counts(), ["GET"]),
        route("/_sandbox/reset-counters", _reset, ["POST"]),
    ]
