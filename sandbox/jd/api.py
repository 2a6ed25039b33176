"""JOS methods: SKUs and stock (`jingdong.sku.read.searchSkuList`, `jingdong.stock.write.updateSkuStock`,
`…increaseSkuStock`), orders (`jingdong.pop.order.search` / `.get` / `.shipment`), carriers
(`360buy.get.vender.all.delivery.company`) and refund applications
(`jingdong.pop.afs.soa.refundapply.queryPageList`).

Each handler returns the body under the method's root; a refused call (BusinessError) is shown
the way that method reports failure, through `FAILURES`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.interface import SimulatorError
from sandbox.jd.carriers import COMPANIES, IDS
from sandbox.jd.errors import BusinessError
from sandbox.jd.model import Order, RefundApply, Sku, show_time, yuan
from sandbox.jd.shop import Call, JdShop

ORDER_STATES = {"WAIT_SELLER_STOCK_OUT", "WAIT_GOODS_RECEIVE_CONFIRM", "WAIT_SELLER_DELIVERY", "FINISHED_L",
                "TRADE_CANCELED", "LOCKED", "PAUSE"}
API_OK = {"success": True, "chineseErrCode": "成功", "englishErrCode": "success", "numberCode": 10100000}


def api_failure(message: str) -> dict[str, Any]:
    return {"success": False, "chineseErrCode": message, "englishErrCode": "invalid request", "numberCode": 10400001}


def sku_json(sku: Sku, title: str, corrupt: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """A SKU as JOS lists it; one named in `corrupt_ids` (outer id or sku id) comes malformed."""
    if {sku.outer_id, str(sku.sku_id)} & corrupt:
        return {"skuId": sku.sku_id, "wareId": sku.ware_id, "outerId": sku.outer_id, "stockNum": "n/a"}
    return {"skuId": sku.sku_id, "wareId": sku.ware_id, "outerId": sku.outer_id, "skuName": sku.sku_name,
            "wareTitle": title, "jdPrice": yuan(sku.jd_price), "stockNum": sku.stock_num, "barCode": sku.bar_code,
            "status": sku.status, "created": show_time(sku.created), "modified": show_time(sku.modified)}


def search_sku_list(shop: JdShop, call: Call) -> dict[str, Any]:
    page_no = call.number("pageNo", default=1, low=1) or 1
    page_size = call.number("pageSize", default=20, low=1, high=100) or 20
    wanted_ware, wanted_sku = call.text("wareId"), call.text("skuId")
    with shop.store.lock:
        rows = [(s, w.title) for w in shop.store.wares.values() for s in w.skus
                if (wanted_ware is None or str(w.ware_id) in wanted_ware.split(","))
                and (wanted_sku is None or str(s.sku_id) in wanted_sku.split(","))]
        rows.sort(key=lambda row: row[0].sku_id)
        chunk = rows[(page_no - 1) * page_size: page_no * page_size]
        return {"page": {"data": [sku_json(s, title, shop.faults.corrupt_ids) for s, title in chunk], "pageNo": page_no,
                         "pageSize": page_size, "totalItem": len(rows)}}


def search_ware(shop: JdShop, call: Call) -> dict[str, Any]:
    """Wares on sale, optionally those modified in [startModifiedTime, endModifiedTime]."""
    page_no = call.number("pageNo", default=1, low=1) or 1
    page_size = call.number("pageSize", default=20, low=1, high=100) or 20
    start, end = call.moment("startModifiedTime"), call.moment("endModifiedTime")
    with shop.store.lock:
        rows = sorted((w for w in shop.store.wares.values() if (start is None or w.modified >= start)
                       and (end is None or w.modified <= end)), key=lambda w: w.ware_id)
        chunk = rows[(page_no - 1) * page_size: page_no * page_size]
        return {"page": {"data": [{"wareId": w.ware_id, "title": w.title, "wareStatus": 8,
                                   "modified": show_time(w.modified)} for w in chunk],
                         "pageNo": page_no, "pageSize": page_size, "totalItem": len(rows)}}


def _sku(shop: JdShop, call: Call) -> Sku:
    sku_id = call.number("skuId", required=True) or 0
    sku = shop.store.sku(sku_id)
    if sku is None:
        raise BusinessError(f"skuId {sku_id} 不存在或不属于当前商家")
    return sku


def update_sku_stock(shop: JdShop, call: Call) -> dict[str, Any]:
    stock = call.number("stockNum", required=True, low=0)
    with shop.store.lock:
        shop.store.write_stock(_sku(shop, call), stock or 0, increase=False)
    return {"success": True}


def increase_sku_stock(shop: JdShop, call: Call) -> dict[str, Any]:
    """Adds to the stock; JD offers no decrement, so a reduction has to be a set."""
    amount = call.number("stockNum", required=True, low=1)
    with shop.store.lock:
        shop.store.write_stock(_sku(shop, call), amount or 0, increase=True)
    return {"success": True}


def order_json(order: Order) -> dict[str, Any]:
    return {
        "orderId": order.order_id, "orderState": order.state, "orderType": "22", "payType": "4-在线支付",
        "orderTotalPrice": yuan(order.total + order.freight), "orderSellerPrice": yuan(order.total),
        "orderPayment": yuan(order.total + order.freight), "freightPrice": yuan(order.freight),
        "orderStartTime": show_time(order.start_time), "modified": show_time(order.modified),
        "paymentConfirmTime": show_time(order.payment_confirm_time), "orderEndTime": show_time(order.end_time),
        "pin": order.pin[:3] + "****", "consigneeInfo": order.consignee.masked(),
        "waybill": order.waybill, "logisticsId": None if order.logistics_id is None else str(order.logistics_id),
        "itemInfoList": [{"skuId": str(li.sku_id), "wareId": str(li.ware_id), "outerSkuId": li.outer_sku_id,
                          "skuName": li.sku_name, "jdPrice": yuan(li.jd_price), "itemTotal": str(li.item_total)}
                         for li in order.lines]}


def _fields(call: Call, record: dict[str, Any]) -> dict[str, Any]:
    wanted = call.text("optional_fields")
    if wanted is None:
        return record
    names = {name.strip() for name in wanted.split(",")} | {"orderId"}
    return {key: value for key, value in record.items() if key in names}


def _window(call: Call, start_name: str, end_name: str, limit: float) -> tuple[datetime, datetime]:
    start, end = call.moment(start_name), call.moment(end_name)
    if start is None or end is None:
        raise BusinessError(f"{start_name} 和 {end_name} 不能为空")
    if end < start:
        raise BusinessError(f"{end_name} 不能早于 {start_name}")
    if (end - start).total_seconds() > limit:
        raise BusinessError(f"查询时间范围不能超过 {limit / 86_400:g} 天")
    return start, end


def pop_order_search(shop: JdShop, call: Call) -> dict[str, Any]:
    states = {s.strip() for s in (call.text("order_state", required=True) or "").split(",") if s.strip()}
    if not states <= ORDER_STATES:
        raise BusinessError(f"order_state 不支持 {sorted(states - ORDER_STATES)}")
    start, end = _window(call, "start_date", "end_date", shop.settings.order_window_seconds)
    page = call.number("page", default=1, low=1) or 1
    page_size = call.number("page_size", default=20, low=1, high=100) or 20
    by_created = call.number("dateType", default=0) == 1  # 1: by creation time, otherwise by modification time
    descending = call.number("sortType", default=0) == 1
    with shop.store.lock:
        orders = [o for o in shop.store.orders.values() if o.state in states
                  and shop.in_window(o.start_time if by_created else o.modified, start, end)]
        orders.sort(key=lambda o: (o.start_time if by_created else o.modified, o.order_id), reverse=descending)
        chunk = orders[(page - 1) * page_size: page * page_size]
        return {"searchorderinfo_result": {"apiResult": API_OK, "orderTotal": len(orders),
                                           "orderInfoList": [_fields(call, order_json(o)) for o in chunk]}}


def pop_order_get(shop: JdShop, call: Call) -> dict[str, Any]:
    order_id = call.text("order_id", required=True) or ""
    with shop.store.lock:
        try:
            order = shop.store.order(order_id)
        except SimulatorError:
            raise BusinessError(f"订单 {order_id} 不存在或不属于当前商家") from None
        return {"orderDetailInfo": {"apiResult": API_OK, "orderInfo": _fields(call, order_json(order))}}


def pop_order_shipment(shop: JdShop, call: Call) -> dict[str, Any]:
    order_id = call.text("orderId", required=True) or ""
    carrier = call.number("logiCoprId", required=True) or 0
    waybill = call.text("logiNo", required=True) or ""
    with shop.store.lock:
        order = shop.store.orders.get(order_id)
        if order is None:
            raise BusinessError(f"订单 {order_id} 不存在或不属于当前商家")
        if carrier not in IDS:
            raise BusinessError(f"logiCoprId {carrier} 不是商家可用的物流公司, 请用 "
                                "360buy.get.vender.all.delivery.company 查询")
        if order.state != "WAIT_SELLER_STOCK_OUT":
            raise BusinessError(f"订单 {order_id} 状态为 {order.state}, 不能出库")
        shop.store.ship(order, carrier, waybill)
        return {"sopjosshipment_result": {"success": True, "chineseErrCode": "成功", "englishErrCode": "success",
                                          "code": 0}}


def delivery_companies(shop: JdShop, call: Call) -> dict[str, Any]:
    return {"delivery_companies": [{"id": i, "name": name, "description": name} for i, name in COMPANIES]}


def refund_json(record: RefundApply) -> dict[str, Any]:
    return {"id": record.id, "orderId": record.order_id, "status": record.status,
            "applyRefundSum": yuan(record.apply_refund_sum), "applyTime": show_time(record.apply_time),
            "checkTime": show_time(record.check_time), "reason": record.reason}


def refund_apply_page(shop: JdShop, call: Call) -> dict[str, Any]:
    order_id = call.text("orderId")
    page_index = call.number("pageIndex", default=1, low=1) or 1
    page_size = call.number("pageSize", default=20, low=1, high=50) or 20
    limit = shop.settings.refund_window_seconds
    by_check = call.text("checkTimeStart") is not None
    if order_id is None:
        names = ("checkTimeStart", "checkTimeEnd") if by_check else ("applyTimeStart", "applyTimeEnd")
        start, end = _window(call, *names, limit)
    else:
        start, end = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    with shop.store.lock:
        rows = [r for r in shop.store.refunds.values() if (order_id is None or r.order_id == order_id)
                and shop.in_window(r.check_time if by_check else r.apply_time, start, end)]
        rows.sort(key=lambda r: r.id)
        chunk = rows[(page_index - 1) * page_size: page_index * page_size]
        return {"queryResult": {"success": True, "totalCount": len(rows), "result": [refund_json(r) for r in chunk]}}


HANDLERS = {
    "jingdong.ware.read.searchWare4Valid": search_ware,
    "jingdong.sku.read.searchSkuList": search_sku_list,
    "jingdong.stock.write.updateSkuStock": update_sku_stock,
    "jingdong.stock.write.increaseSkuStock": increase_sku_stock,
    "jingdong.pop.order.search": pop_order_search,
    "jingdong.pop.order.get": pop_order_get,
    "jingdong.pop.order.shipment": pop_order_shipment,
    "360buy.get.vender.all.delivery.company": delivery_companies,
    "jingdong.pop.afs.soa.refundapply.queryPageList": refund_apply_page,
}

# How each method reports a refused call, inside its own root.
FAILURES = {
    "jingdong.pop.order.search": lambda m: {"searchorderinfo_result": {"apiResult": api_failure(m)}},
    "jingdong.pop.order.get": lambda m: {"orderDetailInfo": {"apiResult": api_failure(m)}},
    "jingdong.pop.order.shipment": lambda m: {"sopjosshipment_result": {"success": False, "chineseErrCode": m,
                                                                        "englishErrCode": "failed", "code": 1}},
    "jingdong.pop.afs.soa.refundapply.queryPageList": lambda m: {"queryResult": {"success": False,
                                                                                 "resultMsg": m}},
}


def failure(method: str, message: str) -> dict[str, Any]:
    """The default (stock writes, SKU search): `success: false` with the reason in `message`."""
    build = FAILURES.get(method)
    return build(message) if build else {"success": False, "message": message}


def response_root(method: str) -> str:
    """`jingdong.pop.order.search` -> `jingdong_pop_order_search_responce` (JD's spelling)."""
    if method == "360buy.get.vender.all.delivery.company":
        return "vender_delivery_all_company_response"  # an old 360buy API with its own root (third-party)
    return method.replace(".", "_") + "_responce"
