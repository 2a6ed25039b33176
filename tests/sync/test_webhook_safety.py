"""Webhook identity and hostile input: ids per account, replays by body, wrong shapes, purged orders.

Findings 4, 5, 6 and part of 9 of issue 15, over real HTTP on loopback (both databases, real Redis).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from connectors.shopify.webhooks import signature as shopify_signature
from connectors.woocommerce.webhooks import signature as woo_signature
from sandbox.runtime import ServerThread, free_port
from store import tables
from store.types import utcnow
from sync.hub.accounts import add_account
from sync.hub.context import Hub
from sync.hub.queues import queue
from sync.orders.events import process_event
from sync.orders.privacy import REDACTED
from sync.service.webserver import build_app

SHOP = "/webhooks/shopify/shop"


@pytest.fixture
def client(hub: Hub) -> Iterator[httpx.Client]:
    for name in ("woo", "woo-b"):
        add_account(hub, "woocommerce", name, {"url": "http://127.0.0.1:9"},
                    {"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "whsec"}, actor="test")
    add_account(hub, "shopify", "shop", {"shop": "x.myshopify.com", "base_url": "http://127.0.0.1:9"},
                {"access_token": "t", "client_secret": "s"}, actor="test")
    server = ServerThread(build_app(hub), free_port()).start()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
    server.stop()


def woo(body: bytes, delivery_id: str = "d1") -> dict[str, str]:
    return {"X-WC-Webhook-Signature": woo_signature(body, "whsec"), "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Delivery-ID": delivery_id}


def shopify(body: bytes, event_id: str = "e1", topic: str = "orders/updated") -> dict[str, str]:
    return {"X-Shopify-Hmac-Sha256": shopify_signature(body, "s"), "X-Shopify-Event-Id": event_id,
            "X-Shopify-Topic": topic}


def stored(hub: Hub) -> int:
    with hub.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(tables.WebhookEvent)) or 0)


def queued(hub: Hub) -> int:
    return queue("events", hub.redis).count


def test_two_accounts_may_receive_the_same_event_id(hub: Hub, client: httpx.Client) -> None:
    body = json.dumps({"id": 7, "status": "processing"}).encode()
    first = client.post("/webhooks/woocommerce/woo", content=body, headers=woo(body))
    second = client.post("/webhooks/woocommerce/woo-b", content=body, headers=woo(body))
    again = client.post("/webhooks/woocommerce/woo-b", content=body, headers=woo(body))
    assert [r.json()["status"] for r in (first, second, again)] == ["accepted", "accepted", "duplicate"]
    assert stored(hub) == 2 and queued(hub) == 2


def test_a_captured_body_resent_under_a_new_event_id_or_topic_is_a_replay(hub: Hub, client: httpx.Client) -> None:
    body = json.dumps({"id": 450789469, "updated_at": "2026-12-01T10:00:00Z"}).encode()
    original = client.post(SHOP, content=body, headers=shopify(body, "e1", "orders/create"))
    replays = [client.post(SHOP, content=body, headers=shopify(body, event_id, topic))
               for event_id, topic in (("e2", "orders/create"), ("e3", "orders/updated"), ("e4", "orders/cancelled"))]
    assert original.json()["status"] == "accepted"
    assert {(r.status_code, r.json()["status"]) for r in replays} == {(200, "duplicate")}
    newer = json.dumps({"id": 450789469, "updated_at": "2026-12-01T10:00:05Z"}).encode()
    assert client.post(SHOP, content=newer, headers=shopify(newer, "e5")).json()["status"] == "accepted"
    assert stored(hub) == 2 and queued(hub) == 1  # one drain job takes both of the account's events


def test_a_replay_after_the_window_is_a_new_event(hub: Hub, client: httpx.Client) -> None:
    body = json.dumps({"id": 1}).encode()
    client.post(SHOP, content=body, headers=shopify(body, "e1"))
    with hub.db.session() as session:
        for event in session.scalars(select(tables.WebhookEvent)):
            event.received_at = utcnow() - timedelta(seconds=hub.settings.webhooks.replay_window_s + 5)
    assert client.post(SHOP, content=body, headers=shopify(body, "e2")).json()["status"] == "accepted"


DEEP = b"[" * 100_000 + b"]" * 100_000
WRONG_SHAPES = {
    "array": b"[{\"id\": 1}]",
    "empty": b"",
    "id object": b'{"id": {"$gt": 0}}',
    "id array": b'{"id": [1, 2]}',
    "id boolean": b'{"id": true}',
    "id float": b'{"id": 1.5}',
    "negative id": b'{"id": -4}',
    "5000-digit id string": b'{"id": "' + b"9" * 5000 + b'"}',
    "5000-digit id number": b'{"id": ' + b"9" * 5000 + b"}",
    "4000-digit id number": b'{"id": ' + b"9" * 4000 + b"}",
    "no id": b'{"note": "hello"}',
    "nested 100000 deep": DEEP,
    "deep object": b'{"id": 1, "x": ' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}",
}


@pytest.mark.parametrize("body", list(WRONG_SHAPES.values()), ids=list(WRONG_SHAPES))
def test_a_signed_shopify_body_of_the_wrong_shape_is_400_and_nothing_is_stored(
        hub: Hub, client: httpx.Client, body: bytes) -> None:
    answer = client.post(SHOP, content=body, headers=shopify(body))
    assert answer.status_code == 400, answer.text
    assert "Traceback" not in answer.text and len(answer.text) < 400
    assert stored(hub) == 0 and queued(hub) == 0


@pytest.mark.parametrize("body", [b'{"id": {"$gt": 0}}', b'{"id": "' + b"9" * 5000 + b'"}', DEEP, b"",
                                  b'{"id": "7 OR 1=1"}'], ids=["id object", "long id", "deep", "empty", "spaces"])
def test_a_signed_woocommerce_body_of_the_wrong_shape_is_400(hub: Hub, client: httpx.Client, body: bytes) -> None:
    answer = client.post("/webhooks/woocommerce/woo", content=body, headers=woo(body))
    assert answer.status_code == 400, answer.text
    assert stored(hub) == 0 and queued(hub) == 0


def test_the_server_still_answers_after_hostile_bodies(hub: Hub, client: httpx.Client) -> None:
    for body in (DEEP, b"[]"):
        client.post(SHOP, content=body, headers=shopify(body, "x"))
    body = json.dumps({"id": 3}).encode()
    assert client.post(SHOP, content=body, headers=shopify(body, "ok")).json()["status"] == "accepted"


def test_an_event_for_a_purged_order_stores_no_personal_data(hub: Hub, client: httpx.Client) -> None:
    with hub.db.session() as session:
        shop = session.scalar(select(tables.Account).where(tables.Account.name == "shop"))
        assert shop is not None
        now = utcnow()
        session.add(tables.Order(account_id=shop.id, external_id="gid://shopify/Order/5", number="#1005",
                                 status="fulfilled", currency="EUR", placed_at=now - timedelta(days=400),
                                 channel_updated_at=now, purged_at=now,
                                 channel_state={"fetched_at": (now + timedelta(hours=1)).isoformat()}))
    body = json.dumps({"id": 5, "customer": {"first_name": "Ada", "phone": "+44 20 7946 0958"},
                       "shipping_address": {"address1": "1 Lovelace Row"}}).encode()
    answer = client.post(SHOP, content=body, headers=shopify(body, "after-purge"))
    assert answer.json()["status"] == "accepted"
    with hub.db.session() as session:
        event = session.scalar(select(tables.WebhookEvent))
        assert event is not None
        assert event.payload == REDACTED and "Ada" not in event.payload
        assert event.order_reference == "gid://shopify/Order/5"
        event_id = event.id
    # The job works from the stored reference, not the (redacted) body.
    assert process_event(hub, event_id) == "processed"
    with hub.db.session() as session:
        order = session.scalar(select(tables.Order))
        assert order is not None and order.customer_name is None
