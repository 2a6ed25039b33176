"""Webhook delivery the way WooCommerce does it.

The body is the resource as `/wc/v3/{resource}s/{id}` returns it (`{"id": N}` for deleted),
signed with base64 HMAC-SHA256 of the raw body. A 2xx/301/302 answer resets a hook's
failure count; any other answer increments it, and a failure arriving when the count is
already above 5 sets the hook to `disabled` (WC_Webhook::failed_delivery). WooCommerce
does not retry a failed delivery, so by default neither do we.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from typing import Any

from sandbox.runtime import Delivery, Faults, WebhookSender
from sandbox.woocommerce.errors import php_json
from sandbox.woocommerce.model import Webhook
from sandbox.woocommerce.serialise import order_json, product_json
from sandbox.woocommerce.store import WooStore

MAX_FAILURES = 5  # `woocommerce_max_webhook_delivery_failures`
USER_AGENT = "WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)"


def signature(body: bytes, secret: str) -> str:
    """X-WC-Webhook-Signature for `body`."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class WebhookHub:
    """Listens to store events and hands signed deliveries to a WebhookSender."""

    def __init__(self, store: WooStore, faults: Faults, *, max_attempts: int = 1,
                 base_delay: float = 0.2) -> None:
        self.store = store
        self.sender = WebhookSender(faults, max_attempts=max_attempts, base_delay=base_delay,
                                    on_result=self._on_result)
        self._delivery_ids = itertools.count(1)
        store.listeners.append(self.on_event)

    def on_event(self, topic: str, resource_id: int, payload: dict[str, Any] | None) -> None:
        """Called under the store lock right after a change."""
        hooks = [h for h in self.store.webhooks.values() if h.status == "active" and h.topic == topic]
        if not hooks:
            return
        body = php_json(payload if payload is not None else self._payload(topic, resource_id))
        for hook in hooks:
            self.sender.send(hook.delivery_url, body, self._headers(hook, body))

    def _payload(self, topic: str, resource_id: int) -> dict[str, Any]:
        resource, _, event = topic.partition(".")
        if event == "deleted":
            return {"id": resource_id}
        if resource == "order":
            order = self.store.order(resource_id)
            return order_json(self.store, order) if order else {"id": resource_id}
        product = self.store.product(resource_id)
        return product_json(self.store, product) if product else {"id": resource_id}

    def _headers(self, hook: Webhook, body: bytes) -> dict[str, str]:
        resource, _, event = hook.topic.partition(".")
        delivery_id = hashlib.md5(f"{hook.id}:{next(self._delivery_ids)}".encode()).hexdigest()
        return {
            "Content-Type": "application/json", "User-Agent": USER_AGENT,
            "X-WC-Webhook-Source": self.store.base_url + "/", "X-WC-Webhook-Topic": hook.topic,
            "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature(body, hook.secret), "X-WC-Webhook-ID": str(hook.id),
            "X-WC-Webhook-Delivery-ID": delivery_id,
        }

    def _on_result(self, delivery: Delivery, ok: bool) -> None:
        status = delivery.last_status
        succeeded = ok or (status is not None and 200 <= status < 303)
        with self.store.lock:
            hook = self.store.webhook(int(delivery.headers.get("X-WC-Webhook-ID", "0")))
            if hook is None:
                return
            hook.deliveries += 1
            if succeeded:
                hook.failure_count = 0
            elif hook.failure_count > MAX_FAILURES:
                hook.status = "disabled"
                hook.modified = self.store.now()
            else:
                hook.failure_count += 1

    def flush(self, timeout: float = 10.0) -> None:
        self.sender.flush(timeout)

    def close(self) -> None:
        self.sender.close()
