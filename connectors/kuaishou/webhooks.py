"""快手 pushes: each POST is one message, Base64(AES-CBC, zero IV, PKCS5) of its JSON under the
app's message key — the documented way to read it, and what makes a forged one fail: a body that is
not strict Base64, does not decrypt under the key, or names another app is refused.

A `{"test": true}` heartbeat carries no event. `eventId` is unique and stays the same on
redelivery. The platform expects `{"result": 1}` back.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from connectors.errors import AuthFailed, Rejected
from connectors.events import ChannelEvent, EventSubject, SubjectKind, WebhookReply

REPLY = WebhookReply(200, b'{"result":1}', "application/json")


def decrypt(body: bytes, message_key: str) -> bytes:
    """The plain message, or ValueError when the body was not sealed under `message_key`."""
    try:
        sealed = base64.b64decode(body.strip(b"\r\n"), validate=True)
        decryptor = Cipher(algorithms.AES(base64.b64decode(message_key)), modes.CBC(bytes(16))).decryptor()
        padded = decryptor.update(sealed) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except (binascii.Error, ValueError) as exc:
        raise ValueError(str(exc)) from None


def verify(body: bytes, *, message_key: str, app_key: str, where: str) -> list[ChannelEvent]:
    try:
        message = json.loads(decrypt(body, message_key))
    except (ValueError, UnicodeDecodeError):
        raise AuthFailed(where, "the push does not decrypt under this app's message key") from None
    if not isinstance(message, dict):
        raise AuthFailed(where, "the push decrypts to something that is not a message")
    if message.get("test") is True and not message.get("eventId"):
        return []  # the console's test message and the heartbeat
    if message.get("appKey") != app_key:
        raise AuthFailed(where, "the push names another app")
    if not message.get("eventId") or not message.get("event"):
        raise Rejected(where, "a pushed message without eventId or event")
    try:
        info: Any = json.loads(message.get("info") or "{}")
    except (TypeError, ValueError):
        raise Rejected(where, f"message {message['eventId']}: info is not JSON") from None
    return [ChannelEvent(f"kuaishou:{message['eventId']}", str(message["event"]),
                         {"event": message["event"], "bizId": message.get("bizId"), "info": info})]


def subject(event: ChannelEvent) -> EventSubject | None:
    info = event.payload.get("info") or {}
    if event.topic.startswith("kwaishop_order_"):
        order_id = info.get("oid") or event.payload.get("bizId")
        return EventSubject(SubjectKind.ORDER, str(order_id)) if order_id else None
    if event.topic.startswith("kwaishop_aftersales_") and info.get("refundId"):
        order_id = info.get("orderId")
        return EventSubject(SubjectKind.REFUND, str(info["refundId"]), order_reference=str(order_id) if order_id
                            else None)
    return None
