"""快手 pushes: one message per POST, the JSON {eventId, msgId, bizId, userId, openId, appKey, event,
info (a JSON string), createTime, test} encrypted with the app's message key (text/plain body).

The receiver must answer HTTP 200 `{"result": 1}` within 3 s; failed pushes are retried 5 times,
after 5, 10, 20, 30 and 60 minutes. Setting the push URL first sends `{"test": true}`, and the
console keeps the URL only when that is acknowledged.
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

from sandbox.kuaishou.payloads import HANDLING_WAY, ORDER_STATUS, REFUND_STATUS, ms
from sandbox.kuaishou.signing import encrypt_message
from sandbox.pushshop import shop as events
from sandbox.pushshop.pushes import PreparedPush
from sandbox.pushshop.shop import ShopEvent

if TYPE_CHECKING:
    from sandbox.kuaishou import KuaishouSimulator

_numbers = itertools.count(1)
ORDER_EVENTS = {events.ORDER_CREATED: "kwaishop_order_addOrder", events.ORDER_PAID: "kwaishop_order_paySuccess",
                events.ORDER_SHIPPED: "kwaishop_order_delivering", events.ORDER_CANCELLED: "kwaishop_order_orderFail",
                events.ORDER_COMPLETED: "kwaishop_order_orderSuccess"}


def message(sim: KuaishouSimulator, event: ShopEvent) -> dict[str, Any]:
    order, moment = event.order, ms(event.at)
    if event.kind in ORDER_EVENTS:
        name, biz_id = ORDER_EVENTS[event.kind], order.order_id
        info: dict[str, Any] = {"oid": order.order_id, "sellerId": sim.seller_id, "updateTime": moment,
                                "status": 10 if event.kind == events.ORDER_CREATED else ORDER_STATUS[order.state]}
        if event.kind == events.ORDER_CREATED:
            info |= {"createTime": moment, "openId": sim.seller_open_id, "buyerOpenId": sim.open_id(order.buyer)}
    else:
        aftersale = event.aftersale
        assert aftersale is not None
        created = event.kind == events.AFTERSALE_CREATED
        name = "kwaishop_aftersales_addRefund" if created else "kwaishop_aftersales_updateRefund"
        biz_id = aftersale.aftersale_id
        info = {"orderId": order.order_id, "refundId": aftersale.aftersale_id,
                "handlingWay": HANDLING_WAY[aftersale.kind], "specialRefundType": 0, "updateTime": moment,
                "status": REFUND_STATUS["requested" if created else aftersale.state]}
    number = next(_numbers)
    return {"eventId": f"{number}_{biz_id}_{moment}", "msgId": f"{number}_{moment}", "bizId": biz_id,
            "userId": sim.seller_id, "openId": sim.seller_open_id, "appKey": sim.app_key, "event": name,
            "info": json.dumps(info, separators=(",", ":")), "createTime": moment, "test": False}


def prepare(sim: KuaishouSimulator, payload: dict[str, Any]) -> PreparedPush:
    plain = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return PreparedPush(sim.require_push_url(), encrypt_message(plain, sim.message_key),
                        {"Content-Type": "text/plain;charset=utf-8"})
