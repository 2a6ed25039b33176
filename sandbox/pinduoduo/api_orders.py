"""Orders, shipping, after-sales and tokens: `pdd.order.number.list.increment.get`,
`pdd.order.information.get`, `pdd.logistics.online.send`, `pdd.logistics.companies.get`,
`pdd.refund.list.increment.get`, `pdd.pop.auth.token.refresh`."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sandbox.pinduoduo.carriers import AVAILABLE, COMPANIES, KNOWN
from sandbox.pinduoduo.errors import PddError, bad_parameter, refused
from sandbox.pinduoduo.model import AfterSale, Order, money, show_time
from sandbox.pinduoduo.shop import Call, PddShop


def order_json(shop: PddShop, order: Order) -> dict[str, Any]:
    pay = order.goods_amount + order.postage
    body: dict[str, Any] = {
        "order_sn": order.order_sn, "order_status": order.order_status, "refund_status": order.refund_status,
        "confirm_status": 1, "group_status": 1, "trade_type": 0, "is_lucky_flag": 1,
        "risk_control_status": order.risk_control_status,
        "created_time": show_time(order.created_time), "confirm_time": show_time(order.pay_time),
        "pay_time": show_time(order.pay_time), "updated_at": show_time(order.updated_at),
        "shipping_time": show_time(order.shipping_time), "tracking_number": order.tracking_number,
        "logistics_id": order.logistics_id, "goods_amount": money(order.goods_amount), "discount_amount": 0.0,
        "postage": money(order.postage), "pay_amount": money(pay),
        "province": order.receiver.province, "city": order.receiver.city, "town": order.receiver.town,
        "item_list": [{"goods_id": li.goods_id, "sku_id": li.sku_id, "outer_id": li.outer_id,
                       "outer_goods_id": li.outer_goods_id, "goods_name": li.goods_name, "goods_spec": li.goods_spec,
                       "goods_price": money(li.goods_price), "goods_count": li.goods_count} for li in order.lines],
        **order.receiver.masks()}
    readable = order.order_status == 1 and order.risk_control_status == 0
    cipher = order.receiver.encrypted(shop.cipher_key())
    body.update(cipher if readable else dict.fromkeys(cipher, ""))
    return body


def _window(shop: PddShop, call: Call, limit: float) -> tuple[datetime, datetime]:
    start, end = call.moment("start_updated_at"), call.moment("end_updated_at")
    if end <= start:
        raise bad_parameter("end_updated_at 必须大于 start_updated_at")
    if (end - start).total_seconds() > limit:
        raise bad_parameter(f"开始时间结束时间间距不超过 {limit / 60:g} 分钟")
    return start, end


def _paged(call: Call, rows: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    page = call.number("page", default=1, low=1) or 1
    page_size = call.number("page_size", default=100, low=1, high=100) or 100
    chunk = rows[(page - 1) * page_size: page * page_size]
    if call.flag("use_has_next"):
        return chunk, {"has_next": page * page_size < len(rows)}
    return chunk, {"total_count": len(rows)}


def order_increment_get(shop: PddShop, call: Call) -> dict[str, Any]:
    start, end = _window(shop, call, shop.settings.order_window_seconds)
    status = call.number("order_status", required=True, low=1, high=5)
    refund_status = call.number("refund_status", required=True, low=1, high=5)
    with shop.store.lock:
        orders = [o for o in shop.store.orders.values() if o.paid and shop.in_window(o.updated_at, start, end)
                  and status in (5, o.order_status) and refund_status in (5, o.refund_status)]
        orders.sort(key=lambda o: (o.updated_at, o.order_sn), reverse=True)
        chunk, paging = _paged(call, orders)
        return {**paging, "order_sn_list": [order_json(shop, o) for o in chunk]}


def _paid_order(shop: PddShop, call: Call) -> Order:
    order_sn = call.text("order_sn", required=True) or ""
    order = shop.store.orders.get(order_sn)
    if order is None or not order.paid:
        raise refused(f"订单 {order_sn} 不存在或不属于当前店铺")
    return order


def order_information_get(shop: PddShop, call: Call) -> dict[str, Any]:
    with shop.store.lock:
        return {"order_info": order_json(shop, _paid_order(shop, call))}


def logistics_online_send(shop: PddShop, call: Call) -> dict[str, Any]:
    logistics_id = call.number("logistics_id", required=True) or 0
    tracking_number = call.text("tracking_number", required=True) or ""
    modify = call.number("redelivery_type", default=1, low=1, high=2) == 2
    with shop.store.lock:
        order = _paid_order(shop, call)
        if logistics_id not in KNOWN:
            raise refused(f"快递公司 {logistics_id} 不存在, 请用 pdd.logistics.companies.get 查询")
        if logistics_id not in AVAILABLE:
            raise refused(f"快递公司 {logistics_id} 当前不支持发货 (available=0)")
        if order.refund_status == 4 and all(li.refunded >= li.goods_count for li in order.lines):
            raise refused(f"订单 {order.order_sn} 已退款成功, 不能发货")
        if modify != (order.order_status != 1):
            state = "已发货, 修改运单请传 redelivery_type=2" if order.order_status != 1 else "未发货, 不能修改运单"
            raise refused(f"订单 {order.order_sn} {state}")
        shop.store.ship(order, logistics_id, tracking_number, modify=modify)
        return {"is_success": True}


def logistics_companies_get(shop: PddShop, call: Call) -> dict[str, Any]:
    return {"logistics_companies": [{"id": i, "code": code, "logistics_company": name, "available": available}
                                    for i, code, name, available in COMPANIES]}


def after_sale_json(record: AfterSale) -> dict[str, Any]:
    line = record.line
    return {"id": record.id, "order_sn": record.order_sn, "after_sales_type": record.after_sales_type,
            "after_sales_status": record.after_sales_status, "goods_id": line.goods_id, "sku_id": line.sku_id,
            "outer_id": line.outer_id, "outer_goods_id": line.outer_goods_id, "goods_name": line.goods_name,
            "goods_number": record.goods_number, "goods_price": money(line.goods_price),
            "refund_amount": money(record.refund_amount), "order_amount": money(line.goods_price * line.goods_count),
            "created_time": show_time(record.created_time), "updated_time": show_time(record.updated_time),
            "after_sale_reason": "不想要了"}


def refund_increment_get(shop: PddShop, call: Call) -> dict[str, Any]:
    order_sn = call.text("order_sn")
    with shop.store.lock:
        if order_sn is not None:  # by order: every other filter is ignored
            rows = [r for r in shop.store.after_sales.values() if r.order_sn == order_sn]
        else:
            start, end = _window(shop, call, shop.settings.refund_window_seconds)
            status = call.number("after_sales_status", required=True, low=0, high=16)
            kind = call.number("after_sales_type", required=True, low=1, high=6)
            rows = [r for r in shop.store.after_sales.values() if shop.in_window(r.updated_time, start, end)
                    and status in (1, r.after_sales_status) and kind in (1, r.after_sales_type)]
        rows.sort(key=lambda r: (r.updated_time, r.id), reverse=True)
        chunk, _ = _paged(call, rows)
        return {"total_count": len(rows), "refund_list": [after_sale_json(r) for r in chunk]}


def token_refresh(shop: PddShop, call: Call) -> dict[str, Any]:
    """A refresh token buys a new access token; the old one stops working."""
    given = call.text("refresh_token", required=True) or ""
    credentials = shop.credentials
    if given != credentials.refresh_token:
        raise PddError(20032, "refresh_token 无效")
    credentials.generation += 1
    seed = f"{credentials.client_id}:{credentials.generation}"
    credentials.access_token = hashlib.sha256(f"access:{seed}".encode()).hexdigest()[:32]
    credentials.token_valid = True  # the refresh token stays the same (assumed; see docs/decisions.md)
    return {"access_token": credentials.access_token, "refresh_token": credentials.refresh_token,
            "expires_in": 86_400, "owner_id": str(shop.store.mall_id), "owner_name": "marketsync", "scope": []}


HANDLERS = {
    "pdd.order.number.list.increment.get": order_increment_get,
    "pdd.order.information.get": order_information_get,
    "pdd.logistics.online.send": logistics_online_send,
    "pdd.logistics.companies.get": logistics_companies_get,
    "pdd.refund.list.increment.get": refund_increment_get,
    "pdd.pop.auth.token.refresh": token_refresh,
}
# Response roots are PDD's own names, not derived from the type.
ROOTS = {
    "pdd.goods.list.get": "goods_list_get_response",
    "pdd.goods.quantity.update": "goods_quantity_update_response",
    "pdd.order.number.list.increment.get": "order_sn_increment_get_response",
    "pdd.order.information.get": "order_info_get_response",
    "pdd.logistics.online.send": "logistics_online_send_response",
    "pdd.logistics.companies.get": "logistics_companies_get_response",
    "pdd.refund.list.increment.get": "refund_increment_get_response",
    "pdd.pop.auth.token.refresh": "pop_auth_token_refresh_response",
}
# APIs callable without a mall's access_token.
APP_APIS = {"pdd.logistics.companies.get", "pdd.pop.auth.token.refresh"}
