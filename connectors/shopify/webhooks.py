"""Shopify webhook deliveries: signature check and the event they carry.

Shopify signs the raw request body: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the
body keyed with the app's client secret. The event id (for de-duplication) is
`X-Shopify-Event-Id`, falling back to `X-Shopify-Webhook-Id`; the topic is `X-Shopify-Topic`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

from connectors.errors import AuthFailed, Rejected
from connectors.events import ChannelEvent, EventSubject, SubjectKind

# WebhookSubscriptionTopic enum value → the topic's header form.
TOPICS = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_CANCELLED": "orders/cancelled",
    "PRODUCTS_UPDATE": "products/update",
    "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
    "FULFILLMENTS_CREATE": "fulfillments/create",
}

# What the hub subscribes to: only topics it acts on. Product and inventory updates are left
# out on purpose: every stock write the hub makes would come back as one (an echo storm that
# delays the order events behind it), and reconciliation reads live quantities itself.
SUBSCRIBED = ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED", "FULFILLMENTS_CREATE")


def signature(body: bytes, secret: str) -> str:
    """The `X-Shopify-Hmac-Sha256` value Shopify sends for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (plain dicts are not case-insensitive)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify(headers: Mapping[str, str], body: bytes, *, secret: str, where: str) -> ChannelEvent:
    """The event in a delivery whose signature is right; AuthFailed for a forged or unsigned one."""
    sent = header(headers, "X-Shopify-Hmac-Sha256")
    if not sent or not hmac.compare_digest(sent.encode("ascii", "replace"), signature(body, secret).encode("ascii")):
        raise AuthFailed(where, "webhook signature (X-Shopify-Hmac-Sha256) does not match the client secret; "
                                "the delivery was rejected")
    event_id = header(headers, "X-Shopify-Event-Id") or header(headers, "X-Shopify-Webhook-Id")
    topic = header(headers, "X-Shopify-Topic")
    if not event_id or not topic:
        raise AuthFailed(where, "webhook delivery has no X-Shopify-Event-Id/X-Shopify-Webhook-Id or "
                                "X-Shopify-Topic header")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise Rejected(where, f"webhook {event_id} ({topic}) body is not JSON (or nested too deep)") from None
    if not isinstance(payload, dict):
        raise Rejected(where, f"webhook {event_id} ({topic}) body is not a JSON object")
    return ChannelEvent(event_id=event_id, topic=topic, payload=payload)


def _numeric_id(event: ChannelEvent, key: str) -> int | None:
    """`payload[key]` as Shopify's numeric id; Rejected for any other shape (objects, floats, booleans)."""
    value = event.payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())) \
            or not 0 < int(value) < 2**63:
        raise Rejected("shopify webhook", f"event {event.event_id} ({event.topic}): {key} is not an id")
    return int(value)


def subject(event: ChannelEvent) -> EventSubject | None:
    """The order an event is about (order topics carry the order, fulfilment and refund topics its id)."""
    if event.topic.startswith("orders/"):
        order_id = _required_id(event, "id")
        return EventSubject(SubjectKind.ORDER, f"gid://shopify/Order/{order_id}")
    if event.topic.startswith("refunds/"):
        order_id = _required_id(event, "order_id")
        return EventSubject(SubjectKind.REFUND, str(_numeric_id(event, "id") or ""),
                            order_reference=f"gid://shopify/Order/{order_id}")
    if event.topic.startswith("fulfillments/"):
        return EventSubject(SubjectKind.ORDER, f"gid://shopify/Order/{_required_id(event, 'order_id')}")
    if event.topic.startswith("products/") and (product_id := _numeric_id(event, "id")) is not None:
        return EventSubject(SubjectKind.PRODUCT, f"gid://shopify/Product/{product_id}")
    return None


def _required_id(event: ChannelEvent, key: str) -> int:
    value = _numeric_id(event, key)
    if value is None:
        raise Rejected("shopify webhook", f"event {event.event_id} ({event.topic}) has no {key}")
    return value
