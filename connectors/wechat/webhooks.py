"""微信小店 pushes (消息推送), verified as the message-push docs describe.

Every delivery carries `signature` = sha1(sorted token, timestamp, nonce) in its query, checked
with `hmac.compare_digest`, and a timestamp no older than `max_age` (retries are signed anew, so
a stale one is a replay). In safe mode (`push_mode = aes`, the default) the body is
`{"ToUserName", "Encrypt"}`: `msg_signature` must match sha1(sorted token, timestamp, nonce,
Encrypt), the message decrypts under the EncodingAESKey, and it must name this appid. In plain
mode the body itself is not signed (only the query is), so the hub never trusts it beyond the
order id it names, which it re-reads from the API. Either way the body must be exactly one JSON
object. The console's URL check is a signed GET answered with its `echostr`.

Pushes carry no message id: an event's id is a digest of its decrypted JSON, the same on every
redelivery of that push.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import time
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from connectors.errors import AuthFailed
from connectors.events import ChannelEvent, EventSubject, SubjectKind, WebhookReply, WebhookRequest

REPLY = WebhookReply(200, b"success", "text/plain")


def signature(*values: str) -> str:
    return hashlib.sha1("".join(sorted(values)).encode()).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def one_object(raw: bytes, where: str) -> dict[str, Any]:
    try:
        text = raw.decode()
        value, end = json.JSONDecoder().raw_decode(text)
    except (UnicodeDecodeError, ValueError):
        raise AuthFailed(where, "the push body is not a JSON object") from None
    if end != len(text) or not isinstance(value, dict):
        raise AuthFailed(where, "the push body is not exactly one JSON object")
    return value


def decrypt(token: str, encoding_aes_key: str) -> tuple[bytes, str]:
    key = base64.b64decode(encoding_aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(token, validate=True)) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 32:
        raise ValueError("bad padding")
    plain = plain[:-pad]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20:20 + length], plain[20 + length:].decode()


def check_query(query: Mapping[str, str], *, token: str, max_age: float, where: str) -> None:
    timestamp, nonce = str(query.get("timestamp") or ""), str(query.get("nonce") or "")
    if not _same(query.get("signature"), signature(token, timestamp, nonce)):
        raise AuthFailed(where, "the push's signature does not match the push token")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > max_age:
        raise AuthFailed(where, "the push's timestamp is too old (a replay?)")


def verify(request: WebhookRequest, *, token: str, appid: str, encoding_aes_key: str, mode: str, max_age: float,
           where: str) -> list[ChannelEvent]:
    check_query(request.query, token=token, max_age=max_age, where=where)
    if request.method == "GET":
        return []  # the console's URL check: answered with its echostr
    if mode == "aes":
        if request.query.get("encrypt_type") != "aes":
            raise AuthFailed(where, "a push that is not encrypted, on an account set to safe mode")
        envelope = one_object(request.body, where)
        sealed = str(envelope.get("Encrypt") or "")
        if not _same(request.query.get("msg_signature"), signature(token, request.query["timestamp"],
                                                                    request.query["nonce"], sealed)):
            raise AuthFailed(where, "the push's msg_signature does not match its Encrypt")
        try:
            plain, sender = decrypt(sealed, encoding_aes_key)
        except (ValueError, struct.error, UnicodeDecodeError):
            raise AuthFailed(where, "the push does not decrypt under the EncodingAESKey") from None
        if sender != appid:
            raise AuthFailed(where, "the push names another appid")
        message = one_object(plain, where)
    else:
        message = one_object(request.body, where)
    digest = hashlib.sha256(json.dumps(message, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:40]
    return [ChannelEvent(f"wechat:{digest}", str(message.get("Event") or ""), message)]


def reply(request: WebhookRequest) -> WebhookReply:
    if request.method == "GET":
        return WebhookReply(200, str(request.query.get("echostr") or "").encode(), "text/plain")
    return REPLY


def subject(event: ChannelEvent) -> EventSubject | None:
    if event.topic.startswith("channels_ec_order_"):
        order_id = (event.payload.get("order_info") or {}).get("order_id")
        return EventSubject(SubjectKind.ORDER, str(order_id)) if order_id else None
    if event.topic == "channels_ec_aftersale_update":
        update = event.payload.get("finder_shop_aftersale_status_update") or {}
        if update.get("after_sale_order_id"):
            return EventSubject(SubjectKind.REFUND, str(update["after_sale_order_id"]),
                                order_reference=str(update.get("order_id") or "") or None)
    return None
