"""WooCommerce webhook deliveries: signature check, event identity, and the creation ping.

A delivery carries `X-WC-Webhook-Signature` = base64(HMAC-SHA256(raw body, webhook secret)),
`X-WC-Webhook-Topic` (e.g. `order.updated`), `X-WC-Webhook-Resource`, `X-WC-Webhook-ID` and
`X-WC-Webhook-Delivery-ID`. The delivery id is a hash of the webhook id and the second it was
sent, so two deliveries of one webhook in the same second can share it: the event id adds the
resource and its id. When a webhook is saved, WooCommerce first posts an unsigned form body
`webhook_id=N` to check the URL answers; that ping is acknowledged as topic `ping`, never
treated as a forgery (WooCommerce disables a webhook whose URL keeps failing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from connectors.errors import AuthFailed, Rejected
from connectors.events import ChannelEvent, EventSubject, SubjectKind, WebhookSubscription

PING = re.compile(rb"^webhook_id=(\d+)$")
# Only topics the hub acts on: `product.updated` would echo every stock write the hub makes,
# and reconciliation reads live quantities itself.
TOPICS = ("order.created", "order.updated")


def signature(body: bytes, secret: str) -> str:
    """The value WooCommerce puts in `X-WC-Webhook-Signature` for `body`."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), "")


def verify(headers: Mapping[str, str], body: bytes, *, secret: str | None, where: str) -> ChannelEvent:
    """The event of a genuine delivery; AuthFailed for a missing or wrong signature."""
    given = _header(headers, "X-WC-Webhook-Signature")
    ping = PING.match(body.strip())
    if not given and ping and not _header(headers, "X-WC-Webhook-Topic"):
        webhook_id = ping.group(1).decode()
        return ChannelEvent(event_id=f"ping:{webhook_id}", topic="ping", payload={"webhook_id": int(webhook_id)})
    if not secret:
        raise AuthFailed(where, "a webhook arrived but the account has no webhook_secret to check it; "
                                "set it with `marketsync account update ACCOUNT --secret webhook_secret`")
    if not given or not hmac.compare_digest(given.strip().encode(), signature(body, secret).encode()):
        raise AuthFailed(where, "webhook signature does not match (forged, or signed with another secret)")
    return _event(headers, body, where)


def _event(headers: Mapping[str, str], body: bytes, where: str) -> ChannelEvent:
    try:
        payload: Any = json.loads(body)
    except ValueError:
        raise Rejected(where, "webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise Rejected(where, "webhook body is not a JSON object")
    topic = _header(headers, "X-WC-Webhook-Topic") or "unknown"
    delivery = _header(headers, "X-WC-Webhook-Delivery-ID")
    if not delivery:
        raise Rejected(where, f"webhook {topic} has no X-WC-Webhook-Delivery-ID header")
    resource = _header(headers, "X-WC-Webhook-Resource") or topic.partition(".")[0]
    return ChannelEvent(event_id=f"{delivery}:{resource}:{payload.get('id', '')}", topic=topic, payload=payload)


def subject(event: ChannelEvent) -> EventSubject | None:
    """`order.*` events are about the order `payload.id`; product events about the product; pings about nothing."""
    resource_id = event.payload.get("id")
    if resource_id is None:
        return None
    if event.topic.startswith("order."):
        return EventSubject(SubjectKind.ORDER, str(resource_id))
    if event.topic.startswith("product."):
        return EventSubject(SubjectKind.PRODUCT, str(resource_id))
    return None


def subscription(raw: Mapping[str, Any]) -> WebhookSubscription:
    return WebhookSubscription(external_id=str(raw.get("id")), topic=str(raw.get("topic", "")),
                               url=str(raw.get("delivery_url", "")))
