"""The control plane under `/_sandbox/` (JSON, no auth): what tests, the demo and benchmarks
do to the shop from outside. Each route is one call on `TaobaoSimulator`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.catalogue import SeedSpec
from sandbox.interface import OutOfStock, SimulatorError
from sandbox.taobao.model import parse_time

if TYPE_CHECKING:
    from sandbox.taobao import TaobaoSimulator

Handler = Callable[["TaobaoSimulator", dict[str, Any], dict[str, str]], Any]


def _lines(body: dict[str, Any]) -> list[tuple[str, int]] | None:
    raw = body.get("lines")
    if raw is None:
        return None
    return [(str(line["sku"]), int(line["quantity"])) for line in raw]


def _placed(sim: TaobaoSimulator, body: dict[str, Any], path: dict[str, str]) -> dict[str, Any]:
    order = sim.place_order(_lines(body) or [], buyer=body.get("buyer"))
    return {"order_id": order.order_id, "number": order.number, "lines": [list(li) for li in order.lines]}


def _cancel(sim: TaobaoSimulator, body: dict[str, Any], path: dict[str, str]) -> dict[str, Any]:
    sim.cancel_order(path["order_id"], restock=bool(body.get("restock", True)))
    return {"cancelled": path["order_id"]}


def _refund(sim: TaobaoSimulator, body: dict[str, Any], path: dict[str, str]) -> dict[str, Any]:
    sim.refund_order(path["order_id"], _lines(body), restock=bool(body.get("restock", True)))
    return {"refunded": path["order_id"]}


def _stock(sim: TaobaoSimulator, body: dict[str, Any], path: dict[str, str]) -> dict[str, Any]:
    sku = str(body["sku"])
    sim.set_stock(sku, body.get("quantity"), body.get("delta"))
    return {"sku": sku, "available": sim.available(sku)}


def _reset(sim: TaobaoSimulator, body: dict[str, Any], path: dict[str, str]) -> dict[str, Any]:
    sim.reset_counters()
    return {"reset": True}


def _route(path: str, handler: Handler, methods: list[str]) -> Route:
    async def endpoint(request: Request) -> Response:
        sim: TaobaoSimulator = request.app.state.simulator
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


def routes() -> list[Route]:
    return [
        _route("/_sandbox/seed", lambda s, b, p: s.seed(SeedSpec.from_json(b)), ["POST"]),
        _route("/_sandbox/orders", _placed, ["POST"]),
        _route("/_sandbox/orders/{order_id}/cancel", _cancel, ["POST"]),
        _route("/_sandbox/orders/{order_id}/refund", _refund, ["POST"]),
        _route("/_sandbox/orders/{order_id}/touch", lambda s, b, p: s.touch_order(
            p["order_id"], parse_time(b["modified"]) if b.get("modified") else None), ["POST"]),
        _route("/_sandbox/stock", _stock, ["POST"]),
        _route("/_sandbox/presale", lambda s, b, p: s.set_presale(str(b["sku"]), bool(b.get("presale", True))),
               ["POST"]),
        _route("/_sandbox/session/expire", lambda s, b, p: s.expire_session(), ["POST"]),
        _route("/_sandbox/faults", lambda s, b, p: s.configure(b), ["POST"]),
        _route("/_sandbox/clock", lambda s, b, p: s.set_clock(float(b["factor"])), ["POST"]),
        _route("/_sandbox/tmc", lambda s, b, p: s.tmc_state(), ["GET"]),
        _route("/_sandbox/tmc/redeliver", lambda s, b, p: s.redeliver_now(), ["POST"]),
        _route("/_sandbox/state", lambda s, b, p: s.state(), ["GET"]),
        _route("/_sandbox/writes", lambda s, b, p: {"writes": s.writes.entries()}, ["GET"]),
        _route("/_sandbox/requests", lambda s, b, p: s.request_counts(), ["GET"]),
        _route("/_sandbox/reset-counters", _reset, ["POST"]),
    ]
