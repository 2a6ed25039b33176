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

from connectors.base import WebhookEvent
from connectors.errors import AuthFailed, Rejected

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


def verify(headers: Mapping[str, str], body: bytes, *, secret: str, where: str) -> WebhookEvent:
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
        payload = json.loads(body) if body else {}
    except ValueError:
        raise Rejected(where, f"webhook {event_id} ({topic}) body is not JSON") from None
    return WebhookEvent(event_id=event_id, topic=topic, payload=payload if isinstance(payload, dict) else {})
