"""抖店 pushes: `[{tag, msg_id, data}]` signed with `event-sign` = md5(app_key + body + app_secret).

Each message is one event (`msg_id` is unique and stays the same on redelivery). Order tags (1xx)
name the parent order (`p_id`); after-sale tags (2xx) name the after-sale and its order. The
platform expects `{"code": 0, "msg": "success"}` back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from connectors.errors import AuthFailed, Rejected
from connectors.events import ChannelEvent, EventSubject, SubjectKind, WebhookReply

REPLY = WebhookReply(200, b'{"code":0,"msg":"success"}', "application/json")


def expected_sign(app_key: str, app_secret: str, body: bytes) -> str:
    return hashlib.md5(app_key.encode() + body + app_secret.encode()).hexdigest()


def verify(headers: Mapping[str, str], body: bytes, *, app_key: str, app_secret: str, where: str) -> list[ChannelEvent]:
    given = headers.get("event-sign", "")
    if not given or not hmac.compare_digest(given.encode(), expected_sign(app_key, app_secret, body).encode()):
        raise AuthFailed(where, "the push's event-sign does not match this app")
    try:
        messages = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Rejected(where, "a signed push whose body is not JSON") from None
    if not isinstance(messages, list):
        raise Rejected(where, "a signed push whose body is not a list of messages")
    return [_event(message, where) for message in messages]


def _event(message: Any, where: str) -> ChannelEvent:
    if not isinstance(message, dict) or not message.get("msg_id") or not message.get("tag"):
        raise Rejected(where, "a pushed message without msg_id or tag")
    try:
        data = json.loads(message.get("data") or "{}")
    except (TypeError, ValueError):
        raise Rejected(where, f"message {message['msg_id']}: data is not JSON") from None
    return ChannelEvent(f"douyin:{message['msg_id']}", str(message["tag"]), {"tag": str(message["tag"]), "data": data})


def subject(event: ChannelEvent) -> EventSubject | None:
    data = event.payload.get("data") or {}
    order_id = str(data.get("p_id") or "") or None
    if event.topic.startswith("1") and order_id:
        return EventSubject(SubjectKind.ORDER, order_id)
    if event.topic.startswith("2") and data.get("aftersale_id"):
        return EventSubject(SubjectKind.REFUND, str(data["aftersale_id"]), order_reference=order_id)
    return None
