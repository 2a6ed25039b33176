"""Bazaar's gateway on loopback and its simulator face (`sandbox.interface.Simulator`).

One signed RPC route, `POST /rpc`, form fields `method`, `app_id`, `ts` (UNIX seconds, ±300 s),
`params` (JSON) and `sign` = hex HMAC-SHA256 with the app secret over the other fields as
`k=v&…` in name order. Every answer is HTTP 200: `{"ok": true, "data": …}` or
`{"ok": false, "error": {"code", "message", "retry_after"?}}` (codes `SIGN`, `RATE`, `BUSY`,
`BAD_PARAM`, `NOT_FOUND`). Methods: `items.list` (page from 1), `stock.adjust` (a delta under a
`request_id`; answers a task id), `stock.tasks`, `orders.search` (an update-time window of at most
an hour, newest first, page from 1, with `total`), `orders.get`, `orders.ship`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.catalogue import SeedSpec
from sandbox.interface import AccountSetup, ChannelShipment, EventDelivery, PlacedOrder, Simulator, SimulatorError
from sandbox.runtime import Clock, Fault, FaultMiddleware, Faults, RequestCounter, Served, ServerThread, WriteLog
from tests.bazaar.shop import BazaarShop, Order, Sku

WINDOW_S = 3600
MAX_PAGE = 50
SKEW_S = 300


def signature(secret: str, fields: dict[str, str]) -> str:
    text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "sign")
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


class Refusal(Exception):
    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.retry_after = code, message, retry_after


def _answer_error(code: str, message: str, retry_after: float | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if retry_after is not None:
        error["retry_after"] = retry_after
    return JSONResponse({"ok": False, "error": error})


def fault_answer(request: Request, fault: Fault) -> Response:
    """Bazaar's own answers to an injected fault: always HTTP 200 with an error code."""
    if fault.status == 429:
        return _answer_error("RATE", "too many calls", fault.retry_after if fault.retry_after is not None else 1.0)
    if fault.status in (401, 403):
        return _answer_error("SIGN", "signature check failed")
    return _answer_error("BUSY", "the gateway is busy, try again")


class BazaarSimulator(Served):
    """One Bazaar seller served on loopback."""

    platform: ClassVar[str] = "bazaar"
    event_delivery: ClassVar[EventDelivery] = EventDelivery.NONE

    def __init__(self, *, port: int = 0, clock_factor: float = 1.0, name: str = "bazaar-shop") -> None:
        self.clock = Clock(clock_factor)
        self.faults = Faults()
        self.writes = WriteLog()
        self.requests = RequestCounter()
        self.name = name
        digest = hashlib.sha256(f"bazaar:{name}".encode()).hexdigest()
        self.app_id, self.app_secret = f"bz{digest[:10]}", digest[16:48]
        self.shop = BazaarShop(self.writes)
        self.server = ServerThread(self._app(), port)

    def info(self) -> dict[str, Any]:
        return {"platform": self.platform, "url": self.url, "app_id": self.app_id, "app_secret": self.app_secret}

    def account_setup(self) -> AccountSetup:
        return AccountSetup(self.platform, {"url": self.url, "app_id": self.app_id},
                            {"app_secret": self.app_secret})

    # ---- the simulator interface ---------------------------------------------------------------
    def seed(self, spec: SeedSpec | int | None = None) -> dict[str, Any]:
        if not isinstance(spec, SeedSpec):
            spec = SeedSpec() if spec is None else SeedSpec(seed=spec)
        return self.shop.seed(spec)

    def place_order(self, lines: Sequence[tuple[str, int]], *, buyer: str | None = None) -> PlacedOrder:
        order = self.shop.place(lines, buyer or "buyer")
        return PlacedOrder(str(order.order_id), f"BZ{order.order_id}",
                           tuple((self.shop.skus[s].code, q) for s, q in order.lines), order.created)

    def cancel_order(self, order_id: str, *, restock: bool = True) -> None:
        self.shop.cancel(_number(order_id), restock)

    def refund_order(self, order_id: str, lines: Sequence[tuple[str, int]] | None = None, *,
                     restock: bool = True) -> None:
        self.shop.refund(_number(order_id), lines, restock)

    def set_stock(self, sku: str, quantity: int | None = None, delta: int | None = None) -> None:
        self.shop.merchant_stock(sku, quantity, delta)

    def available(self, sku: str) -> int | None:
        self.shop.run_due_tasks()
        found = self.shop.by_code(sku)
        return None if found is None else found.stock

    def shipments(self, order_id: str | None = None) -> list[ChannelShipment]:
        with self.shop.lock:
            return [ChannelShipment(str(s.order_id), s.tracking, s.carrier) for s in self.shop.shipments
                    if order_id is None or str(s.order_id) == str(order_id)]

    def set_push_url(self, url: str) -> bool:
        return False

    def flush_events(self, timeout: float = 10.0) -> None:
        """Bazaar pushes nothing; stock tasks due by now are applied."""
        self.shop.run_due_tasks()

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.faults.configure(dict(spec))
        return self.faults.as_dict()

    def request_counts(self) -> dict[str, Any]:
        return {**self.requests.as_dict(), "throttled": 0}

    def reset_counters(self) -> None:
        self.requests.reset()
        self.writes.clear()

    # ---- HTTP ----------------------------------------------------------------------------------
    def _app(self) -> Starlette:
        app = Starlette(routes=[Route("/rpc", self._rpc, methods=["POST"]), Route("/", self._home, methods=["GET"])])
        app.add_middleware(FaultMiddleware, faults=self.faults, counter=self.requests, error=fault_answer,
                           label=lambda request: request.url.path)
        return app

    async def _home(self, request: Request) -> Response:
        return JSONResponse({"platform": self.platform, "seller": self.name})

    async def _rpc(self, request: Request) -> Response:
        fields = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        try:
            self._check(fields)
            params = json.loads(fields.get("params") or "{}")
            handler = self._methods().get(fields.get("method", ""))
            if handler is None:
                raise Refusal("BAD_PARAM", f"unknown method {fields.get('method')!r}")
            self.shop.run_due_tasks()
            return JSONResponse({"ok": True, "data": handler(params)})
        except Refusal as refusal:
            return _answer_error(refusal.code, refusal.message, refusal.retry_after)
        except (KeyError, TypeError, ValueError) as exc:
            return _answer_error("BAD_PARAM", f"bad parameters: {exc}")
        except SimulatorError as exc:
            return _answer_error("NOT_FOUND", str(exc))

    def _check(self, fields: dict[str, str]) -> None:
        if fields.get("app_id") != self.app_id or not hmac.compare_digest(
                fields.get("sign", ""), signature(self.app_secret, fields)):
            raise Refusal("SIGN", "signature check failed")
        if abs(time.time() - float(fields.get("ts") or 0)) > SKEW_S:
            raise Refusal("SIGN", "timestamp out of range")

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {"items.list": self._items, "stock.adjust": self._adjust, "stock.tasks": self._tasks,
                "orders.search": self._search, "orders.get": lambda p: self._order(self.shop.order(int(p["order_id"]))),
                "orders.ship": self._ship}

    def _sku_json(self, sku: Sku) -> dict[str, Any]:
        corrupt = sku.code in self.faults.corrupt_ids or str(sku.sku_id) in self.faults.corrupt_ids
        return {"sku_id": sku.sku_id, "code": sku.code, "barcode": sku.barcode, "name": sku.title,
                "price": "free" if corrupt else str(sku.price), "stock": sku.stock}

    def _items(self, params: dict[str, Any]) -> dict[str, Any]:
        page, size = int(params.get("page", 1)), min(int(params.get("page_size", MAX_PAGE)), MAX_PAGE)
        since = float(params.get("updated_after") or 0)
        with self.shop.lock:
            items = [i for i in sorted(self.shop.items.values(), key=lambda i: i.item_id) if i.updated >= since]
            chosen = items[(page - 1) * size:page * size]
            return {"total": len(items), "items": [
                {"item_id": i.item_id, "title": i.title, "updated": i.updated,
                 "skus": [self._sku_json(self.shop.skus[s]) for s in i.sku_ids]} for i in chosen]}

    def _adjust(self, params: dict[str, Any]) -> dict[str, Any]:
        delta = int(params["delta"])
        if delta == 0 or not params.get("request_id"):
            raise Refusal("BAD_PARAM", "a stock adjustment needs a non-zero delta and a request_id")
        try:
            task = self.shop.submit(int(params["sku_id"]), delta, str(params["request_id"]))
        except KeyError:
            raise Refusal("NOT_FOUND", f"no sku {params['sku_id']}") from None
        return {"task_id": task.task_id}

    def _tasks(self, params: dict[str, Any]) -> dict[str, Any]:
        found = [t for t in (self.shop.task(str(i)) for i in params["task_ids"]) if t is not None]
        return {"tasks": [{"task_id": t.task_id, "state": t.state, "stock": t.stock, "reason": t.reason}
                          for t in found]}

    def _search(self, params: dict[str, Any]) -> dict[str, Any]:
        start, end = float(params["from"]), float(params["to"])
        if not 0 < end - start <= WINDOW_S:
            raise Refusal("BAD_PARAM", f"a search window is at most {WINDOW_S} s")
        page, size = int(params.get("page", 1)), min(int(params.get("page_size", MAX_PAGE)), MAX_PAGE)
        found = self.shop.search(start, end)
        return {"total": len(found), "orders": [self._order(o) for o in found[(page - 1) * size:page * size]]}

    def _order(self, order: Order) -> dict[str, Any]:
        with self.shop.lock:
            lines = [{"line_id": f"{order.order_id}-{n}", "sku_id": sku_id, "code": self.shop.skus[sku_id].code,
                      "quantity": quantity, "price": str(self.shop.skus[sku_id].price)}
                     for n, (sku_id, quantity) in enumerate(order.lines, start=1)]
            line_of = {line["sku_id"]: line["line_id"] for line in lines}
            refunds = [{"refund_id": f"{order.order_id}-R{n}", "line_id": line_of[sku_id], "quantity": quantity,
                        "restock": restock} for n, (sku_id, quantity, restock) in enumerate(order.refunds, start=1)]
            return {"order_id": order.order_id, "state": order.state, "created": order.created,
                    "updated": order.updated, "buyer": order.buyer, "lines": lines,
                    "refunds": refunds,
                    "shipments": [{"carrier": s.carrier, "tracking": s.tracking} for s in self.shop.shipments
                                  if s.order_id == order.order_id]}

    def _ship(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            shipment = self.shop.ship(int(params["order_id"]), str(params["carrier"]), str(params["tracking"]))
        except ValueError as exc:
            raise Refusal("BAD_PARAM", str(exc)) from None
        return {"order_id": shipment.order_id, "tracking": shipment.tracking}


def _number(order_id: str | int) -> int:
    try:
        return int(order_id)
    except (TypeError, ValueError):
        raise SimulatorError(f"a Bazaar order id is a number, got {order_id!r}") from None


_CONFORMS: type[Simulator] = BazaarSimulator
