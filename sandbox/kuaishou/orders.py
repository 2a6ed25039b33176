"""快手 orders and refunds: open.order.cursor.list, open.order.detail, open.seller.order.goods.deliver,
open.seller.order.refund.pcursor.list, open.seller.order.refund.detail.

Both lists take `beginTime`/`endTime` in milliseconds (inclusive; begin within the last 90 days;
orders ≤ 7 days apart, refunds ≤ `refund_window_seconds`, one day by default) and page with an
opaque cursor: "" for the first page, the answer's cursor for the next, "nomore" at the end. A
cursor belongs to its query: reusing it with other parameters is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sandbox.kuaishou.errors import (
    END_BEFORE_BEGIN,
    NOT_FOUND,
    OLDER_THAN_90_DAYS,
    OPERATION_REJECTED,
    RANGE_OVER_7_DAYS,
    RANGE_OVER_LIMIT,
    KuaishouError,
    bad,
    integer,
)
from sandbox.kuaishou.payloads import (
    CARRIERS,
    ORDER_STATUS,
    REFUND_STATUS,
    RETIRED_CARRIERS,
    VIEW_STATUS,
    ms,
    order_json,
    refund_json,
)
from sandbox.pushshop.shop import AfterSale, Order, UnknownOrder

if TYPE_CHECKING:
    from sandbox.kuaishou import KuaishouSimulator

NOMORE = "nomore"
DAY_MS = 86_400_000
T = TypeVar("T")


def _window(params: dict[str, Any], limit_ms: int, over_code: int) -> tuple[int, int]:
    begin, end = integer(params, "beginTime"), integer(params, "endTime")
    if end <= begin:
        raise KuaishouError(END_BEFORE_BEGIN, "结束时间要晚于开始时间", "ENDTIME MUST AFTER BEGINTIME")
    if begin < time.time() * 1000 - 90 * DAY_MS:
        raise KuaishouError(OLDER_THAN_90_DAYS, "只能查询最近90天内的订单", "CAN NOT SEARCH BEFORE 90 DAYS")
    if end - begin > limit_ms:
        raise KuaishouError(over_code, "查询范围不能大于7天" if over_code == RANGE_OVER_7_DAYS else "时间范围超限",
                            "SEARCH TIME RANGE EXPAND LIMIT")
    return begin, end


def _page(found: list[T], key: Callable[[T], tuple[int, int]], params: dict[str, Any], cursor_name: str,
          size: int, descending: bool) -> tuple[list[T], str]:
    """Keyset paging over `found` (already filtered): the chunk after the cursor and the next cursor."""
    query = hashlib.sha256(json.dumps({k: v for k, v in sorted(params.items()) if k != cursor_name},
                                      default=str).encode()).hexdigest()[:16]
    cursor = str(params.get(cursor_name) or "")
    found.sort(key=key, reverse=descending)
    if cursor == NOMORE:
        return [], NOMORE
    if cursor:
        try:
            position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            assert position["q"] == query
            after = (int(position["t"]), int(position["i"]))
        except Exception:
            raise bad(cursor_name, "无效, 请使用上一页返回的游标且不要修改查询条件") from None
        found = [f for f in found if (key(f) < after if descending else key(f) > after)]
    chunk = found[:size]
    if len(found) <= size:
        return chunk, NOMORE
    last = key(chunk[-1])
    token = base64.urlsafe_b64encode(json.dumps({"q": query, "t": last[0], "i": last[1]}).encode()).decode()
    return chunk, token


def cursor_list(sim: KuaishouSimulator, params: dict[str, Any]) -> dict[str, Any]:
    begin, end = _window(params, 7 * DAY_MS, RANGE_OVER_7_DAYS)
    size = integer(params, "pageSize", minimum=1, maximum=50)
    view = integer(params, "orderViewStatus")
    if view not in (1, *VIEW_STATUS):
        raise bad("orderViewStatus", "取值1~7")
    by_update = integer(params, "queryType", default=1) == 2
    descending = integer(params, "sort", default=1) != 2
    with sim.shop.lock:
        def key(order: Order) -> tuple[int, int]:
            return ms(order.updated_at if by_update else order.created_at), order.order_id

        found = [o for o in sim.shop.orders.values() if begin <= key(o)[0] <= end
                 and (view == 1 or ORDER_STATUS[o.state] in VIEW_STATUS[view])]
        chunk, cursor = _page(found, key, params, "cursor", size, descending)
        return {"pageSize": size, "beginTime": begin, "endTime": end, "cursor": cursor,
                "orderList": [order_json(sim, o) for o in chunk]}


def _order(sim: KuaishouSimulator, order_id: Any) -> Order:
    try:
        return sim.shop.order(order_id)
    except UnknownOrder:
        raise KuaishouError(NOT_FOUND, f"订单{order_id}不存在", "isv.order-not-exist") from None


def order_detail(sim: KuaishouSimulator, params: dict[str, Any]) -> dict[str, Any]:
    with sim.shop.lock:
        return order_json(sim, _order(sim, integer(params, "oid")))


def deliver(sim: KuaishouSimulator, params: dict[str, Any]) -> dict[str, Any]:
    express_code = integer(params, "expressCode")
    if express_code in RETIRED_CARRIERS:
        raise bad("expressCode", f"{express_code} {RETIRED_CARRIERS[express_code]}已下线")
    if express_code not in CARRIERS:
        raise bad("expressCode", f"{express_code}不是有效的快递公司编码")
    express_no = str(params.get("expressNo") or "")
    if not express_no:
        raise bad("expressNo", "不能为空")
    with sim.shop.lock:
        order = _order(sim, integer(params, "orderId"))
        if order.state != "paid":
            raise KuaishouError(OPERATION_REJECTED, f"order operation reject: 订单{order.order_id}当前状态不能发货",
                                "isv.order-status-invalid")
        sim.shop.ship(order.order_id, tracking_number=express_no, carrier=str(express_code))
        return {}


def refund_list(sim: KuaishouSimulator, params: dict[str, Any]) -> dict[str, Any]:
    begin, end = _window(params, int(float(sim.options["refund_window_seconds"]) * 1000), RANGE_OVER_LIMIT)
    refund_type = integer(params, "type")
    if refund_type not in (8, 9):
        raise bad("type", "8 等待退款 9 全部退款订单")
    size = integer(params, "pageSize", minimum=1, maximum=100)
    by_update = integer(params, "queryType", default=1) == 2
    descending = integer(params, "sort", default=1) != 2
    with sim.shop.lock:
        def key(aftersale: AfterSale) -> tuple[int, int]:
            return ms(aftersale.updated_at if by_update else aftersale.created_at), aftersale.aftersale_id

        found = [a for a in sim.shop.aftersales.values() if begin <= key(a)[0] <= end
                 and (refund_type == 9 or REFUND_STATUS[a.state] < 60)]
        total = len(found)
        chunk, cursor = _page(found, key, params, "pcursor", size, descending)
        return {"currentPage": integer(params, "currentPage", default=1), "pageSize": size,
                "totalPage": (total + size - 1) // size, "totalSize": total, "beginTime": begin, "endTime": end,
                "pcursor": cursor, "refundOrderInfoList": [refund_json(a) for a in chunk]}


def refund_detail(sim: KuaishouSimulator, params: dict[str, Any]) -> dict[str, Any]:
    with sim.shop.lock:
        aftersale = sim.shop.aftersales.get(integer(params, "refundId"))
        if aftersale is None:
            raise KuaishouError(NOT_FOUND, "退款单不存在", "REFUND ORDER NOT FOUND")
        return refund_json(aftersale)


METHODS = {
    "open.order.cursor.list": ("GET", cursor_list),
    "open.order.detail": ("GET", order_detail),
    "open.seller.order.goods.deliver": ("POST", deliver),
    "open.seller.order.refund.pcursor.list": ("GET", refund_list),
    "open.seller.order.refund.detail": ("GET", refund_detail),
}
