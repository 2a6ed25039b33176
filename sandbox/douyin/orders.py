"""抖店 orders and after-sales: order.searchList, order.orderDetail, order.logisticsAdd,
order.logisticsAddSinglePack, order.logisticsCompanyList, afterSale.List.

Lists page from 0 with `size` ≤ 100. The platform documents no longest time range for
searchList or afterSale.List; this simulator refuses ranges longer than `order_window_seconds`
(7 days by default) and, without a range, lists the last window of create times.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sandbox.douyin.errors import DouyinError, failed, integer, invalid, missing, optional_integer, text
from sandbox.douyin.payloads import AFTERSALE_STATUS, CARRIERS, ORDER_STATUS, aftersale_item, shop_order
from sandbox.interface import SimulatorError
from sandbox.pushshop.shop import Order, UnknownOrder

if TYPE_CHECKING:
    from sandbox.douyin import DouyinSimulator

CARRIER_CODES = {code for _, code, _ in CARRIERS}


def _range(sim: DouyinSimulator, params: dict[str, Any], start_key: str, end_key: str) -> tuple[int, int] | None:
    start, end = optional_integer(params, start_key), optional_integer(params, end_key)
    if start is None and end is None:
        return None
    end = int(time.time()) if end is None else end
    start = end - int(sim.options["order_window_seconds"]) if start is None else start
    if end < start:
        raise invalid(end_key, f"{end_key}不能早于{start_key}")
    if end - start > int(sim.options["order_window_seconds"]):
        raise invalid(start_key, f"查询时间范围不能超过{int(sim.options['order_window_seconds']) // 86400}天")
    return start, end


def _page(params: dict[str, Any]) -> tuple[int, int]:
    return integer(params, "page", default=0, minimum=0), integer(params, "size", default=10, minimum=1, maximum=100)


def search_list(sim: DouyinSimulator, params: dict[str, Any]) -> dict[str, Any]:
    page, size = _page(params)
    created = _range(sim, params, "create_time_start", "create_time_end")
    updated = _range(sim, params, "update_time_start", "update_time_end")
    if created is None and updated is None:
        created = (int(time.time()) - int(sim.options["order_window_seconds"]), int(time.time()))
    order_by = params.get("order_by") or "create_time"
    if order_by not in ("create_time", "update_time"):
        raise invalid("order_by", "order_by只支持create_time和update_time")
    statuses = {int(s) for s in str(params.get("order_status") or "").split(",") if s.strip()}
    with sim.shop.lock:
        orders = [o for o in sim.shop.orders.values()
                  if (created is None or created[0] <= int(o.created_at) <= created[1])
                  and (updated is None or updated[0] <= int(o.updated_at) <= updated[1])
                  and (not statuses or ORDER_STATUS[o.state][0] in statuses)]
        key = (lambda o: (int(o.created_at), o.order_id)) if order_by == "create_time" else \
            (lambda o: (int(o.updated_at), o.order_id))
        orders.sort(key=key, reverse=not bool(params.get("order_asc", False)))
        chunk = orders[page * size:(page + 1) * size]
        return {"shop_order_list": [shop_order(sim, o) for o in chunk], "page": page, "size": size,
                "total": len(orders)}


def _order(sim: DouyinSimulator, order_id: str) -> Order:
    try:
        return sim.shop.order(order_id)
    except UnknownOrder:
        raise failed("isv.order-not-exist", f"订单{order_id}不存在") from None


def order_detail(sim: DouyinSimulator, params: dict[str, Any]) -> dict[str, Any]:
    with sim.shop.lock:
        return {"shop_order_detail": shop_order(sim, _order(sim, text(params, "shop_order_id")))}


def _carrier(params: dict[str, Any]) -> str:
    code = text(params, "company_code")
    if code not in CARRIER_CODES:
        raise invalid("company_code", f"物流公司{code}不存在, 请从/order/logisticsCompanyList获取")
    return code


def _ship(sim: DouyinSimulator, order: Order, tracking: str, carrier: str,
          lines: list[tuple[int, int]] | None) -> int:
    if order.state == "cancelled":
        raise failed("isv.order-status-invalid", f"订单{order.order_id}已取消, 不能发货")
    if order.state not in ("paid", "partially_shipped"):
        raise failed("isv.order-shipped", f"订单{order.order_id}已发货")
    try:
        return sim.shop.ship(order.order_id, tracking_number=tracking, carrier=carrier, lines=lines).package_id
    except SimulatorError as error:
        raise failed("isv.shipped-num-invalid", str(error)) from None


def logistics_add(sim: DouyinSimulator, params: dict[str, Any]) -> dict[str, Any]:
    carrier, tracking = _carrier(params), text(params, "logistics_code")
    with sim.shop.lock:
        _ship(sim, _order(sim, text(params, "order_id")), tracking, carrier, None)
        return {}


def logistics_add_single_pack(sim: DouyinSimulator, params: dict[str, Any]) -> dict[str, Any]:
    carrier, tracking = _carrier(params), text(params, "logistics_code")
    order_ids = params.get("order_id_list") or ([params["order_id"]] if params.get("order_id") else [])
    if len(order_ids) != 1:
        raise invalid("order_id_list", "order_id_list需要且仅支持一个父订单号")
    request_id = params.get("request_id")
    with sim.shop.lock:
        if request_id and str(request_id) in sim.pack_requests:
            return {"pack_id": sim.pack_requests[str(request_id)]}
        order = _order(sim, str(order_ids[0]))
        lines = _shipped_lines(order, params.get("shipped_order_info"))
        pack_id = str(_ship(sim, order, tracking, carrier, lines))
        if request_id:
            sim.pack_requests[str(request_id)] = pack_id
        return {"pack_id": pack_id}


def _shipped_lines(order: Order, info: Any) -> list[tuple[int, int]]:
    if not isinstance(info, list) or not info:
        raise missing("shipped_order_info")
    by_sub_id = {str(line.line_id): line for line in order.lines}
    lines = []
    for entry in info:
        sub_id = str(entry.get("shipped_order_id", "")) if isinstance(entry, dict) else ""
        if sub_id not in by_sub_id:
            raise invalid("shipped_order_id", f"子订单{sub_id}不属于订单{order.order_id}")
        lines.append((by_sub_id[sub_id].line_id, integer(entry, "shipped_num", minimum=1)))
    return lines


def logistics_companies(sim: DouyinSimulator, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": carrier_id, "code": code, "name": name} for carrier_id, code, name in CARRIERS]


def aftersale_list(sim: DouyinSimulator, params: dict[str, Any]) -> dict[str, Any]:
    page, size = _page(params)
    applied = _range(sim, params, "start_time", "end_time")
    updated = _range(sim, params, "update_start_time", "update_end_time")
    order_id = params.get("order_id")
    statuses = params.get("standard_aftersale_status") or []
    if not isinstance(statuses, list):
        raise DouyinError(40004, "非法的参数", "isv.parameter-invalid:standard_aftersale_status",
                          "standard_aftersale_status必须是数组")
    with sim.shop.lock:
        found = [a for a in sim.shop.aftersales.values()
                 if (applied is None or applied[0] <= int(a.created_at) <= applied[1])
                 and (updated is None or updated[0] <= int(a.updated_at) <= updated[1])
                 and (not order_id or str(a.order.order_id) == str(order_id))
                 and (not statuses or AFTERSALE_STATUS[a.state] in {int(s) for s in statuses})]
        found.sort(key=lambda a: (int(a.updated_at), a.aftersale_id), reverse=True)
        chunk = found[page * size:(page + 1) * size]
        return {"items": [aftersale_item(a) for a in chunk], "has_more": (page + 1) * size < len(found),
                "total": len(found), "page": page, "size": size}


METHODS = {
    "order.searchList": search_list,
    "order.orderDetail": order_detail,
    "order.logisticsAdd": logistics_add,
    "order.logisticsAddSinglePack": logistics_add_single_pack,
    "order.logisticsCompanyList": logistics_companies,
    "afterSale.List": aftersale_list,
}
