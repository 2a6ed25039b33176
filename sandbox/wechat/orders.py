"""微信小店 orders and after-sales: order/list/get, order/get, order/delivery/send, the delivery
company lists, aftersale/getaftersalelist, aftersale/getaftersaleorder.

order/list/get takes `create_time_range` or `update_time_range` ({start_time, end_time}, seconds,
inclusive, ≤ 7 days) and `page_size` ≤ 100; getaftersalelist takes begin/end create or update
times ≤ 24 h. Both page with `next_key` in ascending time order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.interface import SimulatorError
from sandbox.pushshop.shop import AfterSale, Order, UnknownOrder
from sandbox.wechat.errors import (
    AFTERSALE_MISSING,
    ALREADY_DELIVERED,
    BAD_DELIVERY_PRODUCTS,
    BAD_RANGE,
    NO_DELIVERY_PRODUCTS,
    ORDER_MISSING,
    STATUS_FORBIDS_DELIVERY,
    WechatError,
    integer,
    invalid,
)
from sandbox.wechat.paging import page
from sandbox.wechat.payloads import DELIVERY_COMPANIES, ORDER_STATUS, aftersale_json, order_json

if TYPE_CHECKING:
    from sandbox.wechat import WechatSimulator

SEVEN_DAYS = 7 * 86400
AFTERSALE_PAGE = 100


def order_list(sim: WechatSimulator, body: dict[str, Any]) -> dict[str, Any]:
    size = integer(body, "page_size", default=10, minimum=1, maximum=100)
    ranges = [(name, body[name]) for name in ("create_time_range", "update_time_range") if body.get(name)]
    if len(ranges) != 1 or not isinstance(ranges[0][1], dict):
        raise invalid("pass exactly one of create_time_range and update_time_range")
    name, window = ranges[0]
    start, end = integer(window, "start_time"), integer(window, "end_time")
    if end < start or end - start > SEVEN_DAYS:
        raise invalid(f"{name}: end_time must not be before start_time and at most 7 days after it")
    status = body.get("status")
    by_update = name == "update_time_range"
    with sim.shop.lock:
        def key(order: Order) -> tuple[int, int]:
            return int(order.updated_at if by_update else order.created_at), order.order_id

        found = [o for o in sim.shop.orders.values() if start <= key(o)[0] <= end
                 and (status is None or ORDER_STATUS[o.state] == int(status))]
        chunk, next_key, has_more = page(found, key, body, size)
        return {"order_id_list": [str(o.order_id) for o in chunk], "next_key": next_key, "has_more": has_more}


def _order(sim: WechatSimulator, order_id: Any) -> Order:
    try:
        return sim.shop.order(str(order_id))
    except UnknownOrder:
        raise WechatError(ORDER_MISSING, f"order {order_id} not exist") from None


def order_get(sim: WechatSimulator, body: dict[str, Any]) -> dict[str, Any]:
    with sim.shop.lock:
        return {"order": order_json(sim, _order(sim, body.get("order_id")))}


def delivery_send(sim: WechatSimulator, body: dict[str, Any]) -> dict[str, Any]:
    deliveries = body.get("delivery_list")
    if not isinstance(deliveries, list) or not deliveries:
        raise invalid("delivery_list must be a non-empty array")
    companies = {code for code, _ in DELIVERY_COMPANIES}
    with sim.shop.lock:
        order = _order(sim, body.get("order_id"))
        if order.state in ("shipped", "completed"):
            raise WechatError(ALREADY_DELIVERED, f"order {order.order_id} already delivered")
        if order.state != "paid" and order.state != "partially_shipped":
            raise WechatError(STATUS_FORBIDS_DELIVERY, f"order {order.order_id} status does not allow delivery")
        plans = []
        for index, delivery in enumerate(deliveries):
            if not isinstance(delivery, dict) or delivery.get("delivery_id") not in companies:
                raise invalid(f"delivery_list[{index}].delivery_id must come from deliverycompanylist")
            if not delivery.get("waybill_id"):
                raise invalid(f"delivery_list[{index}].waybill_id is required")
            plans.append((delivery, _lines(order, delivery.get("product_infos"))))
        try:
            for delivery, lines in plans:
                sim.shop.ship(order.order_id, tracking_number=str(delivery["waybill_id"]),
                              carrier=str(delivery["delivery_id"]), lines=lines)
        except SimulatorError as error:
            raise WechatError(BAD_DELIVERY_PRODUCTS, f"delivery failed: {error}") from None
        return {}


def _lines(order: Order, infos: Any) -> list[tuple[int, int]]:
    if not isinstance(infos, list) or not infos:
        raise WechatError(NO_DELIVERY_PRODUCTS, "no product_infos in the delivery")
    lines = []
    for info in infos:
        match = next((li for li in order.lines if isinstance(info, dict)
                      and str(li.sku.product_id) == str(info.get("product_id"))
                      and str(li.sku.sku_id) == str(info.get("sku_id"))), None)
        count = integer(info, "product_cnt", minimum=1) if isinstance(info, dict) else 0
        if match is None or count > match.unshipped:
            raise WechatError(BAD_DELIVERY_PRODUCTS, f"product {info} is not in the order or already delivered")
        lines.append((match.line_id, count))
    return lines


def delivery_companies(sim: WechatSimulator, body: dict[str, Any]) -> dict[str, Any]:
    return {"company_list": [{"delivery_id": code, "delivery_name": name} for code, name in DELIVERY_COMPANIES]}


def aftersale_list(sim: WechatSimulator, body: dict[str, Any]) -> dict[str, Any]:
    by_update = body.get("begin_update_time") is not None or body.get("end_update_time") is not None
    prefix = "update" if by_update else "create"
    start = integer(body, f"begin_{prefix}_time")
    end = integer(body, f"end_{prefix}_time")
    if end < start or end - start > int(sim.options["aftersale_window_seconds"]):
        raise WechatError(BAD_RANGE, f"begin_{prefix}_time and end_{prefix}_time must span at most 24 hours")
    with sim.shop.lock:
        def key(aftersale: AfterSale) -> tuple[int, int]:
            return int(aftersale.updated_at if by_update else aftersale.created_at), aftersale.aftersale_id

        found = [a for a in sim.shop.aftersales.values() if start <= key(a)[0] <= end]
        chunk, next_key, has_more = page(found, key, body, AFTERSALE_PAGE)
        return {"after_sale_order_id_list": [str(a.aftersale_id) for a in chunk], "next_key": next_key,
                "has_more": has_more}


def aftersale_get(sim: WechatSimulator, body: dict[str, Any]) -> dict[str, Any]:
    with sim.shop.lock:
        try:
            aftersale = sim.shop.aftersales[int(body.get("after_sale_order_id") or 0)]
        except (KeyError, ValueError):
            raise WechatError(AFTERSALE_MISSING, "after sale order not exist") from None
        return {"after_sale_order": aftersale_json(sim, aftersale)}


METHODS = {
    "order/list/get": order_list,
    "order/get": order_get,
    "order/delivery/send": delivery_send,
    "order/deliverycompanylist/get": delivery_companies,
    "order/deliverycompanylist/new/get": delivery_companies,
    "aftersale/getaftersalelist": aftersale_list,
    "aftersale/getaftersaleorder": aftersale_get,
}
