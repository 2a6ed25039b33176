"""Webhook delivery: store events become signed Shopify webhooks to subscribed URIs.

Bodies are the REST-style JSON of `payloads.py`; `X-Shopify-Hmac-Sha256` is the base64
HMAC-SHA256 of the raw body keyed with the app's client secret. Deliveries go through the
shared `WebhookSender` (retries with backoff on non-2xx, optional duplicates and reordering).
Only http(s) URIs are delivered; Pub/Sub and EventBridge subscriptions are accepted but silent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections import deque
from typing import Any

from sandbox.runtime import WebhookSender
from sandbox.shopify import payloads
from sandbox.shopify.model import Fulfillment, Order, Product, iso, now
from sandbox.shopify.store import Store


def sign(body: bytes, secret: str) -> str:
    """Shopify's webhook signature of `body`."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class WebhookDispatcher:
    """Listens to the store and sends one signed webhook per matching subscription."""

    def __init__(self, store: Store, sender: WebhookSender, *, shop_domain: str, client_secret: str,
                 api_version: str) -> None:
        self.store, self.sender = store, sender
        self.shop_domain, self.client_secret, self.api_version = shop_domain, client_secret, api_version
        self.sent: deque[dict[str, Any]] = deque(maxlen=1000)
        store.listeners.append(self.on_event)

    def payload(self, topic: str, subject: Any) -> dict[str, Any] | None:
        store = self.store
        if topic.startswith("ORDERS_") and isinstance(subject, Order):
            return payloads.order(store, subject)
        if topic.startswith("PRODUCTS_") and isinstance(subject, Product):
            return payloads.product(store, subject)
        if topic.startswith("FULFILLMENTS_") and isinstance(subject, Fulfillment):
            return payloads.fulfillment(store, subject)
        if topic == "INVENTORY_LEVELS_UPDATE":
            item, location_id = subject
            return payloads.inventory_level(item, location_id)
        return None

    def on_event(self, topic: str, subject: Any) -> None:
        subscriptions = list(self.store.subscriptions_for(topic))
        if not subscriptions:
            return
        body_json = self.payload(topic, subject)
        if body_json is None:
            return
        event_id, triggered_at = str(uuid.uuid4()), iso(now()) or ""
        for sub in subscriptions:
            shaped = {k: v for k, v in body_json.items() if k in sub.include_fields} if sub.include_fields \
                else body_json
            body = json.dumps(shaped, separators=(",", ":")).encode()
            headers = {
                "Content-Type": "application/json", "X-Shopify-Topic": sub.topic_path,
                "X-Shopify-Hmac-Sha256": sign(body, self.client_secret), "X-Shopify-Shop-Domain": self.shop_domain,
                "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-Event-Id": event_id,
                "X-Shopify-API-Version": self.api_version, "X-Shopify-Triggered-At": triggered_at,
            }
            self.sent.append({"topic": sub.topic_path, "uri": sub.uri, "event_id": event_id,
                              "webhook_id": headers["X-Shopify-Webhook-Id"], "triggered_at": triggered_at})
            if sub.uri.startswith(("http://", "https://")):
                self.sender.send(sub.uri, body, headers)

    def state(self) -> dict[str, Any]:
        return {
            "subscriptions": [{"id": f"gid://shopify/WebhookSubscription/{s.id}", "topic": s.topic_path,
                               "uri": s.uri, "format": s.format} for s in self.store.subscriptions.values()],
            "sent": list(self.sent),
            "deliveries": [{"url": d.url, "topic": d.headers.get("X-Shopify-Topic"), "attempts": d.attempts,
                            "delivered": d.delivered, "last_status": d.last_status} for d in list(self.sender.log)],
        }
