"""`/wp-json/wc/v3/orders` (list, get, update), order notes, and the Shipment Tracking routes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.woocommerce import orders
from sandbox.woocommerce.catalog import as_bool, as_enum
from sandbox.woocommerce.context import Sim, path_id, require
from sandbox.woocommerce.errors import WooError, WPJSONResponse, invalid_param, missing_param, no_route
from sandbox.woocommerce.model import ORDER_STATUSES, Order
from sandbox.woocommerce.params import body, boolean, choice, id_list, moment, paginate, string_list
from sandbox.woocommerce.serialise import note_json, order_json, refund_json, tracking_json

ORDERBY = ("date", "id", "include", "title", "slug", "modified")
STATUS_FILTER = ("any", "trash", *ORDER_STATUSES, "checkout-draft")


def _statuses(request: Request) -> set[str] | None:
    """`status` is one value, a comma list or `status[]=`; "any" means every status but trash."""
    wanted = string_list(request, "status") or ["any"]
    for value in wanted:
        if value not in STATUS_FILTER:
            raise invalid_param("status", f"status[0] is not one of {', '.join(STATUS_FILTER)}.",
                                "rest_not_in_enum")
    return None if "any" in wanted else set(wanted)


def _sort_key(orderby: str, include: list[int] | None) -> Callable[[Order], Any]:
    keys: dict[str, Callable[[Order], Any]] = {
        "date": lambda o: (o.created, o.id), "id": lambda o: o.id, "title": lambda o: o.id,
        "slug": lambda o: o.id, "modified": lambda o: (o.modified, o.id),
        "include": lambda o: (include or []).index(o.id) if include and o.id in include else o.id,
    }
    return keys[orderby]


def _bounds(request: Request, s: Sim) -> dict[str, datetime | None]:
    gmt = boolean(request, "dates_are_gmt")
    return {name: moment(request, s.store, name, gmt=gmt)
            for name in ("after", "before", "modified_after", "modified_before")}


def _filtered(request: Request, s: Sim) -> list[Order]:
    statuses = _statuses(request)
    bounds = _bounds(request, s)
    include, exclude = id_list(request, "include"), id_list(request, "exclude") or []
    orderby = choice(request, "orderby", "date", ORDERBY)
    direction = choice(request, "order", "desc", ("asc", "desc"))
    result = []
    for order in s.store.orders.values():
        if statuses is not None and order.status not in statuses:
            continue
        if (include is not None and order.id not in include) or order.id in exclude:
            continue
        if not _within(order.created, bounds["after"], bounds["before"]):
            continue
        if not _within(order.modified, bounds["modified_after"], bounds["modified_before"]):
            continue
        result.append(order)
    return sorted(result, key=_sort_key(orderby, include), reverse=direction == "desc")


def _within(value: datetime, after: datetime | None, before: datetime | None) -> bool:
    return (after is None or value > after) and (before is None or value < before)


async def list_orders(request: Request) -> Response:
    s = require(request, "list")
    with s.store.lock:
        page, headers = paginate(request, _filtered(request, s))
        data = [order_json(s.store, o, corrupt=s.corrupt(o.id)) for o in page]
    return WPJSONResponse(data, headers=headers)


async def get_order(request: Request) -> Response:
    s = require(request, "view")
    with s.store.lock:
        order = orders.find_order(s.store, path_id(request))
        return WPJSONResponse(order_json(s.store, order, corrupt=s.corrupt(order.id)))


async def update_order(request: Request) -> Response:
    s = require(request, "edit")
    data = await body(request)
    with s.store.lock:
        order = orders.find_order(s.store, path_id(request), status=400)
        status = as_enum("status", data["status"], ORDER_STATUSES) if "status" in data else None
        set_paid = as_bool("set_paid", data.get("set_paid", False))
        for part in ("billing", "shipping"):
            if isinstance(data.get(part), dict):
                getattr(order, part).update({k: str(v) for k, v in data[part].items()})
        if "customer_note" in data:
            order.customer_note = str(data["customer_note"])
        if set_paid and status is None and order.status in ("pending", "failed", "on-hold"):
            status = "processing"
        if status:
            orders.change_status(s.store, order, status)
        order.modified = s.store.now()
        s.store.emit("order.updated", order.id)
        return WPJSONResponse(order_json(s.store, order))


# ---- refunds -------------------------------------------------------------------------------
async def list_refunds(request: Request) -> Response:
    """GET /orders/{id}/refunds: newest first, paginated like every collection."""
    s = require(request, "list")
    with s.store.lock:
        order = orders.find_order(s.store, path_id(request, "order_id"))
        newest_first = sorted(order.refunds, key=lambda r: (r.created, r.id), reverse=True)
        page, headers = paginate(request, newest_first)
        return WPJSONResponse([refund_json(s.store, order, r) for r in page], headers=headers)


async def get_refund(request: Request) -> Response:
    s = require(request, "view")
    with s.store.lock:
        order = orders.find_order(s.store, path_id(request, "order_id"))
        refund = next((r for r in order.refunds if r.id == path_id(request)), None)
        if refund is None:
            raise WooError("woocommerce_rest_invalid_id", "Invalid ID.", 404)
        return WPJSONResponse(refund_json(s.store, order, refund))


# ---- notes ---------------------------------------------------------------------------------
async def list_notes(request: Request) -> Response:
    s = require(request, "list")
    kind = choice(request, "type", "any", ("any", "customer", "internal"))
    with s.store.lock:
        order = orders.find_order(s.store, path_id(request, "order_id"))
        notes = [n for n in s.store.notes.get(order.id, [])
                 if kind == "any" or n.customer_note == (kind == "customer")]
        # Newest first, as WooCommerce lists order notes.
        return WPJSONResponse([note_json(s.store, n) for n in reversed(notes)])


async def create_note(request: Request) -> Response:
    s = require(request, "create")
    data = await body(request)
    if not str(data.get("note") or "").strip():
        raise missing_param("note")
    with s.store.lock:
        order = orders.find_order(s.store, path_id(request, "order_id"))
        customer = as_bool("customer_note", data.get("customer_note", False))
        author = "admin" if as_bool("added_by_user", data.get("added_by_user", False)) else "system"
        note = orders.add_note(s.store, order, str(data["note"]), customer_note=customer, author=author)
        return WPJSONResponse(note_json(s.store, note), status_code=201)


async def get_note(request: Request) -> Response:
    s = require(request, "view")
    with s.store.lock:
        order = orders.find_order(s.store, path_id(request, "order_id"))
        for note in s.store.notes.get(order.id, []):
            if note.id == path_id(request):
                return WPJSONResponse(note_json(s.store, note))
    raise WooError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)


# ---- Shipment Tracking extension -----------------------------------------------------------
def _tracking_enabled(request: Request) -> Sim:
    s: Sim = request.app.state.sim
    if not s.options.shipment_tracking:
        raise no_route()  # the extension is not installed: WordPress knows no such route
    return s


async def list_trackings(request: Request) -> Response:
    _tracking_enabled(request)
    s = require(request, "list")
    with s.store.lock:
        order = orders.find_order(s.store, path_id(request, "order_id"))
        return WPJSONResponse([tracking_json(s.store, order.id, t) for t in order.trackings])


async def create_tracking(request: Request) -> Response:
    _tracking_enabled(request)
    s = require(request, "create")
    data = await body(request)
    with s.store.lock:
        order = orders.find_order(s.store, path_id(request, "order_id"))
        tracking = orders.add_tracking(s.store, order, data)
        s.store.emit("order.updated", order.id)
        return WPJSONResponse(tracking_json(s.store, order.id, tracking), status_code=201)


async def delete_tracking(request: Request) -> Response:
    _tracking_enabled(request)
    s = require(request, "delete")
    with s.store.lock:
        order = orders.find_order(s.store, path_id(request, "order_id"))
        for tracking in order.trackings:
            if tracking.tracking_id == request.path_params["tracking_id"]:
                order.trackings.remove(tracking)
                order.modified = s.store.now()
                return WPJSONResponse({"message": "Successfully deleted the tracking item."})
    raise WooError("woocommerce_rest_shop_order_invalid_tracking_id", "Invalid tracking ID.", 404)


ORDERS = "/wp-json/wc/v3/orders"
T = "/wp-json/wc-shipment-tracking/v3/orders/{order_id:int}/shipment-trackings"
ROUTES = [
    Route(ORDERS, list_orders, methods=["GET"]),
    Route(ORDERS + "/{id:int}", get_order, methods=["GET"]),
    Route(ORDERS + "/{id:int}", update_order, methods=["PUT", "POST", "PATCH"]),
    Route(ORDERS + "/{order_id:int}/refunds", list_refunds, methods=["GET"]),
    Route(ORDERS + "/{order_id:int}/refunds/{id:int}", get_refund, methods=["GET"]),
    Route(ORDERS + "/{order_id:int}/notes", list_notes, methods=["GET"]),
    Route(ORDERS + "/{order_id:int}/notes", create_note, methods=["POST"]),
    Route(ORDERS + "/{order_id:int}/notes/{id:int}", get_note, methods=["GET"]),
    Route(T, list_trackings, methods=["GET"]),
    Route(T, create_tracking, methods=["POST"]),
    Route(T + "/{tracking_id}", delete_tracking, methods=["DELETE"]),
]
