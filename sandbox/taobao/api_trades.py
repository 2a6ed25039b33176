"""Trades, refunds and shipping: `taobao.trades.sold.increment.get`, `taobao.trade.fullinfo.get`,
`taobao.refunds.receive.get`, `taobao.refund.get`, `taobao.logistics.offline.send` / `online.send` / `online.confirm`,
`taobao.logistics.companies.get`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.taobao.api_items import pick
from sandbox.taobao.carriers import CODES, COMPANIES
from sandbox.taobao.errors import business, invalid
from sandbox.taobao.model import Refund, Trade, TradeOrder, show_time, yuan
from sandbox.taobao.shop import Call, TaobaoShop

SHIPPABLE = ("WAIT_SELLER_SEND_GOODS", "SELLER_CONSIGNED_PART")
RECEIVER_FIELDS = {"receiver_name", "receiver_address", "receiver_mobile", "receiver_phone"}


def order_json(order: TradeOrder) -> dict[str, Any]:
    return pick({
        "oid": order.oid, "oid_str": str(order.oid), "num_iid": order.num_iid, "sku_id": str(order.sku_id),
        "outer_iid": order.outer_iid, "outer_sku_id": order.outer_sku_id, "title": order.title,
        "sku_properties_name": order.sku_properties_name, "price": yuan(order.price), "num": order.num,
        "status": order.status, "refund_status": order.refund_status, "total_fee": yuan(order.payment),
        "payment": yuan(order.payment), "logistics_company": order.logistics_company,
        "invoice_no": order.invoice_no, "consign_time": show_time(order.consign_time),
        "refund_id": None if order.refund_id is None else str(order.refund_id),
    }, set(ORDER_FIELDS))


ORDER_FIELDS = ("oid", "oid_str", "num_iid", "sku_id", "outer_iid", "outer_sku_id", "title", "sku_properties_name",
                "price", "num", "status", "refund_status", "total_fee", "payment", "logistics_company",
                "invoice_no", "consign_time", "refund_id")


def trade_json(shop: TaobaoShop, trade: Trade, fields: set[str], *, oaid: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {
        "tid": trade.tid, "tid_str": str(trade.tid), "status": trade.status, "type": "fixed",
        "seller_nick": shop.store.seller_nick, "buyer_nick": trade.buyer_nick,
        "buyer_open_uid": trade.buyer_open_uid, "title": shop.store.seller_nick,
        "created": show_time(trade.created), "modified": show_time(trade.modified),
        "pay_time": show_time(trade.pay_time), "consign_time": show_time(trade.consign_time),
        "end_time": show_time(trade.end_time), "payment": yuan(trade.total_fee + trade.post_fee),
        "total_fee": yuan(trade.total_fee), "post_fee": yuan(trade.post_fee),
        "num": sum(o.num for o in trade.orders), **trade.receiver.masked()}
    body = pick(record, fields)
    if "orders" in fields:
        body["orders"] = {"order": [order_json(o) for o in trade.orders]}
    if oaid:
        body["oaid"] = trade.receiver.oaid(trade.tid)
    return body


def _window(shop: TaobaoShop, call: Call, limit: float | None, required: bool = True) -> tuple[datetime, datetime]:
    start = call.moment("start_modified", required=required)
    end = call.moment("end_modified", required=required)
    if start is None or end is None:
        return datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    if end <= start:
        raise invalid("end_modified", "end_modified must be later than start_modified")
    if limit is not None and (end - start).total_seconds() > limit:
        raise invalid("end_modified", f"end_modified - start_modified may not exceed {limit / 3600:g} hours "
                                      "(修改时间跨度不能大于一天)")
    return start, end


def _page(call: Call, rows: list[Any], *, default: int = 40, high: int = 100) -> tuple[list[Any], dict[str, Any]]:
    page_no = call.number("page_no", default=1, low=1) or 1
    page_size = call.number("page_size", default=default, low=1, high=high) or default
    page = rows[(page_no - 1) * page_size: page_no * page_size]
    if call.flag("use_has_next"):
        return page, {"has_next": page_no * page_size < len(rows)}
    return page, {"total_results": len(rows)}


def trades_sold_increment_get(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    fields = call.fields()
    start, end = _window(shop, call, shop.settings.increment_window_seconds)
    status = call.text("status")
    with shop.store.lock:
        trades = [t for t in shop.store.trades.values()
                  if shop.in_window(t.modified, start, end) and (status is None or t.status == status)]
        trades.sort(key=lambda t: (t.modified, t.tid), reverse=True)  # modified descending, as documented
        page, paging = _page(call, trades)
        body = dict(paging)
        if page:
            body["trades"] = {"trade": [trade_json(shop, t, fields) for t in page]}
        return body


def trade_fullinfo_get(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    fields = call.fields()
    tid = call.number("tid", required=True) or 0
    with shop.store.lock:
        trade = shop.store.trades.get(tid)
        if trade is None:
            raise business("isv.trade-not-exist", f"交易 {tid} 不存在或不属于当前卖家")
        oaid = call.flag("include_oaid") or fields >= RECEIVER_FIELDS
        return {"trade": trade_json(shop, trade, fields, oaid=oaid)}


def refund_json(refund: Refund, trade: Trade) -> dict[str, Any]:
    return {"refund_id": str(refund.refund_id), "tid": refund.tid, "oid": refund.oid, "num": refund.num,
            "refund_fee": yuan(refund.refund_fee), "total_fee": yuan(trade.total_fee),
            "payment": yuan(trade.total_fee - refund.refund_fee), "status": refund.status,
            "order_status": trade.status, "outer_id": refund.outer_id, "title": refund.title,
            "buyer_nick": trade.buyer_nick, "created": show_time(refund.created),
            "modified": show_time(refund.modified), "has_good_return": refund.has_good_return,
            "good_status": _good_status(refund, trade),
            "reason": refund.reason, "refund_phase": "aftersale" if refund.has_good_return else "onsale"}


def _good_status(refund: Refund, trade: Trade) -> str:
    if refund.has_good_return:
        return "BUYER_RETURNED_GOODS"
    sent = any(o.consigned for o in trade.orders if o.oid == refund.oid)
    return "BUYER_RECEIVED" if sent else "BUYER_NOT_RECEIVED"


def refunds_receive_get(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    fields = call.fields()
    start, end = _window(shop, call, shop.settings.refund_window_seconds, required=False)
    status = call.text("status")
    with shop.store.lock:
        refunds = [r for r in shop.store.refunds.values()
                   if shop.in_window(r.modified, start, end) and (status is None or r.status == status)]
        refunds.sort(key=lambda r: (r.modified, r.refund_id), reverse=True)
        page, paging = _page(call, refunds)
        body = dict(paging)
        if page:
            body["refunds"] = {"refund": [pick(refund_json(r, shop.store.trades[r.tid]), fields) for r in page]}
        return body


def refund_get(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    fields = call.fields()
    refund_id = call.number("refund_id", required=True) or 0
    with shop.store.lock:
        refund = shop.store.refunds.get(refund_id)
        if refund is None:
            raise business("isv.refund-not-exist", f"退款 {refund_id} 不存在或不属于当前卖家")
        return {"refund": pick(refund_json(refund, shop.store.trades[refund.tid]), fields)}


def _shippable(shop: TaobaoShop, call: Call, service: str) -> tuple[Trade, str]:
    tid = call.number("tid", required=True) or 0
    company = call.text("company_code", required=True) or ""
    trade = shop.store.trades.get(tid)
    if trade is None:
        raise business("isv.trade-not-exist", f"交易 {tid} 不存在或不属于当前卖家")
    if company not in CODES:
        raise business(f"isv.{service}-service-error", f"物流公司代码 {company!r} 不存在; 请用 "
                                                       "taobao.logistics.companies.get 查询可用的 code")
    if trade.status not in SHIPPABLE:
        raise business(f"isv.{service}-service-error", f"交易 {tid} 当前状态 {trade.status} 不能发货")
    return trade, company


def _sub_tids(call: Call) -> list[int] | None:
    if call.number("is_split", default=0) != 1:
        return None
    raw = call.text("sub_tid", required=True) or ""
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise invalid("sub_tid", "sub_tid must be a comma-separated list of sub-order ids") from None


def logistics_offline_send(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    with shop.store.lock:
        trade, company = _shippable(shop, call, "logistics-offline")
        out_sid = call.text("out_sid", required=True) or ""
        shop.store.consign(trade, company, out_sid, _sub_tids(call))
        return {"shipping": {"is_success": True}}


def logistics_online_send(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    """With `out_sid` the trade is sent at once; without it, `online.confirm` must follow."""
    with shop.store.lock:
        trade, company = _shippable(shop, call, "logistics-online")
        out_sid = call.text("out_sid")
        if out_sid is None:
            shop.pending_online[trade.tid] = company
        else:
            shop.store.consign(trade, company, out_sid, _sub_tids(call))
        return {"shipping": {"is_success": True}}


def logistics_online_confirm(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    with shop.store.lock:
        tid = call.number("tid", required=True) or 0
        out_sid = call.text("out_sid", required=True) or ""
        company = shop.pending_online.pop(tid, None)
        trade = shop.store.trades.get(tid)
        if company is None or trade is None or trade.status not in SHIPPABLE:
            raise business("isv.logistics-online-service-error", f"交易 {tid} 没有待确认的在线下单")
        shop.store.consign(trade, company, out_sid, None)
        return {"shipping": {"is_success": True}}


def logistics_companies_get(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    fields = call.fields()
    rows = [pick({"id": i, "code": code, "name": name, "reg_mail_no": pattern}, fields)
            for i, code, name, pattern in COMPANIES]
    return {"logistics_companies": {"logistics_company": rows}}


HANDLERS = {
    "taobao.trades.sold.increment.get": trades_sold_increment_get,
    "taobao.trade.fullinfo.get": trade_fullinfo_get,
    "taobao.refunds.receive.get": refunds_receive_get,
    "taobao.refund.get": refund_get,
    "taobao.logistics.offline.send": logistics_offline_send,
    "taobao.logistics.online.send": logistics_online_send,
    "taobao.logistics.online.confirm": logistics_online_confirm,
    "taobao.logistics.companies.get": logistics_companies_get,
}
