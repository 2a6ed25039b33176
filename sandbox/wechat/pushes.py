"""微信小店 pushes (消息推送): one event per POST to the URL set in the console.

Query `signature`, `timestamp`, `nonce` (and in safe mode `encrypt_type=aes`, `msg_signature`);
body the event JSON {ToUserName, FromUserName, CreateTime, MsgType: "event", Event, …} or, in safe
mode, {ToUserName, Encrypt}. The receiver must answer `success` (or an empty body) within 5 s;
otherwise the push is tried again after 0 s, 0 s, 10 s, 1 min, 5 min, 30 min, 60 min, 60 min,
60 min — at most ten attempts, about 3.6 hours. Each attempt is signed anew.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sandbox.pushshop import shop as events
from sandbox.pushshop.pushes import PreparedPush
from sandbox.pushshop.shop import ShopEvent
from sandbox.wechat.crypto import encrypt, signature
from sandbox.wechat.payloads import AFTERSALE_STATUS

if TYPE_CHECKING:
    from sandbox.wechat import WechatSimulator

ORDER_EVENTS = {events.ORDER_CREATED: "channels_ec_order_new", events.ORDER_PAID: "channels_ec_order_pay",
                events.ORDER_SHIPPED: "channels_ec_order_deliver", events.ORDER_CANCELLED: "channels_ec_order_cancel",
                events.ORDER_COMPLETED: "channels_ec_order_confirm"}


def message(sim: WechatSimulator, event: ShopEvent) -> dict[str, Any]:
    order = event.order
    base = {"ToUserName": sim.user_name, "FromUserName": sim.open_id(order.buyer), "CreateTime": int(event.at),
            "MsgType": "event"}
    if event.kind in ORDER_EVENTS:
        info: dict[str, Any] = {"order_id": order.order_id}
        if event.kind == events.ORDER_PAID:
            info["pay_time"] = int(event.at)
        elif event.kind == events.ORDER_SHIPPED:
            info["finish_delivery"] = 1 if order.state == "shipped" else 0
        elif event.kind == events.ORDER_CANCELLED:
            info["cancel_type"] = 1
        elif event.kind == events.ORDER_COMPLETED:
            info["confirm_type"] = 1
        return {**base, "Event": ORDER_EVENTS[event.kind], "order_info": info}
    aftersale = event.aftersale
    assert aftersale is not None
    state = "requested" if event.kind == events.AFTERSALE_CREATED else aftersale.state
    return {**base, "Event": "channels_ec_aftersale_update", "finder_shop_aftersale_status_update": {
        "status": AFTERSALE_STATUS[state], "after_sale_order_id": str(aftersale.aftersale_id),
        "order_id": str(order.order_id)}}


def signed_url(sim: WechatSimulator, url: str, extra: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    query = {"signature": signature(sim.push_token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
             **(extra or {})}
    return f"{url}{'&' if '?' in url else '?'}{urlencode(query)}", query


def prepare(sim: WechatSimulator, payload: dict[str, Any]) -> PreparedPush:
    plain = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    url = sim.require_push_url()
    if sim.options["push_mode"] != "aes":
        signed, _ = signed_url(sim, url)
        return PreparedPush(signed, plain, {"Content-Type": "application/json"})
    sealed = encrypt(plain, appid=sim.appid, encoding_aes_key=sim.encoding_aes_key)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    query = {"signature": signature(sim.push_token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
             "encrypt_type": "aes", "msg_signature": signature(sim.push_token, timestamp, nonce, sealed)}
    body = json.dumps({"ToUserName": sim.user_name, "Encrypt": sealed}).encode()
    return PreparedPush(f"{url}{'&' if '?' in url else '?'}{urlencode(query)}", body,
                        {"Content-Type": "application/json"})
