"""抖店 pushes: a POST of `[{tag, msg_id, data}]` (data is a JSON string) signed with `event-sign`.

One shop action becomes one push carrying its messages (an order placed and paid is tags 100 and
101 together). The receiver must answer HTTP 200 with `{"code": 0, "msg": "success"}`.
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

from sandbox.douyin.payloads import AFTERSALE_STATUS, AFTERSALE_TYPE, ORDER_STATUS, sub_order_id
from sandbox.douyin.signing import event_sign
from sandbox.pushshop import shop as events
from sandbox.pushshop.pushes import PreparedPush
from sandbox.pushshop.shop import ShopEvent

if TYPE_CHECKING:
    from sandbox.douyin import DouyinSimulator

_message_numbers = itertools.count(1)


def _data(sim: DouyinSimulator, event: ShopEvent) -> tuple[str, dict[str, Any]]:
    order = event.order
    base = {"p_id": order.order_id, "s_ids": [line.line_id for line in order.lines], "shop_id": int(sim.shop_id),
            "biz": 2, "order_type": 0, "order_status": ORDER_STATUS[order.state][0]}
    moment = int(event.at)
    if event.kind == events.ORDER_CREATED:
        return "100", {**base, "order_status": 1, "create_time": moment}
    if event.kind == events.ORDER_PAID:
        return "101", {**base, "order_status": 2, "pay_time": moment, "pay_type": 1, "pay_amount": order.total}
    if event.kind == events.ORDER_SHIPPED and event.package is not None:
        tag = "108" if order.state == "partially_shipped" else "102"
        logistics = {"express_company_id": event.package.carrier, "logistics_code": event.package.tracking_number}
        return tag, {**base, "update_time": moment, "logistics_msg": logistics}
    if event.kind == events.ORDER_CANCELLED:
        return "106", {**base, "cancel_time": moment, "cancel_reason": "买家取消"}
    if event.kind == events.ORDER_COMPLETED:
        return "103", {**base, "complete_time": moment}
    aftersale = event.aftersale
    assert aftersale is not None
    refund = {"aftersale_id": aftersale.aftersale_id, "aftersale_type": AFTERSALE_TYPE[aftersale.kind],
              "p_id": order.order_id, "s_id": int(sub_order_id(aftersale.line)), "shop_id": int(sim.shop_id),
              "refund_amount": aftersale.amount, "refund_post_amount": 0, "update_time": moment}
    if event.kind == events.AFTERSALE_CREATED:
        return "200", {**refund, "aftersale_status": AFTERSALE_STATUS["requested"], "apply_time": moment}
    return "206", {**refund, "aftersale_status": AFTERSALE_STATUS["succeeded"], "success_time": moment}


def messages(sim: DouyinSimulator, batch: list[ShopEvent]) -> list[dict[str, Any]]:
    found = []
    for event in batch:
        tag, data = _data(sim, event)
        found.append({"tag": tag, "msg_id": f"{next(_message_numbers):019d}{tag}",
                      "data": json.dumps(data, separators=(",", ":"), ensure_ascii=False)})
    return found


def prepare(sim: DouyinSimulator, batch: list[dict[str, Any]]) -> PreparedPush:
    body = json.dumps(batch, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "app-id": sim.app_key,
               "event-sign": event_sign(app_key=sim.app_key, app_secret=sim.app_secret, body=body)}
    return PreparedPush(sim.require_push_url(), body, headers)
