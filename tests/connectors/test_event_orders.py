"""An order webhook's body taken as the order: it must say exactly what the API says, or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bench.harness import connect_shopify, connect_woocommerce
from connectors.base import Connector
from connectors.events import ChannelEvent
from sandbox.catalogue import SeedSpec
from sandbox.shopify import ShopifySandbox
from sandbox.woocommerce import WooCommerceSandbox
from sync.hub.accounts import get_account
from sync.hub.context import Hub

SPEC = SeedSpec(products=4, variants=2, stock=50)


def connector(hub: Hub, name: str) -> Connector:
    with hub.db.session() as session:
        return hub.connector(get_account(session, name))


@pytest.fixture
def shop(hub: Hub) -> Iterator[tuple[ShopifySandbox, Connector]]:
    with ShopifySandbox(spec=SPEC) as sim:
        connect_shopify(hub, sim, "shop")
        client = connector(hub, "shop")
        yield sim, client
        client.close()


@pytest.fixture
def woo(hub: Hub) -> Iterator[tuple[WooCommerceSandbox, Connector]]:
    with WooCommerceSandbox(spec=SPEC) as sim:
        connect_woocommerce(hub, sim, "woo")
        client = connector(hub, "woo")
        yield sim, client
        client.close()


def shopify_event(body: dict[str, Any], topic: str = "orders/updated") -> ChannelEvent:
    return ChannelEvent("e-1", topic, body)


def test_shopify_order_bodies_say_what_the_admin_api_says(shop: tuple[ShopifySandbox, Connector]) -> None:
    sim, client = shop
    plain = sim.place_order([{"sku": "MS-0001-1", "quantity": 2}, {"sku": "MS-0002-2", "quantity": 1}],
                            email="ada@example.com")
    carried = client.event_order(shopify_event(plain))
    assert carried is not None and len(carried.lines) == 2
    assert carried == client.order(f"gid://shopify/Order/{plain['id']}")
    restocked = sim.cancel_order(sim.place_order([{"sku": "MS-0004-1", "quantity": 1}])["id"])
    assert restocked["refunds"] and client.event_order(shopify_event(restocked)) is None  # refunds: read instead


def test_a_shopify_body_with_refunds_or_missing_fields_is_read_instead(shop: tuple[ShopifySandbox, Connector]) -> None:
    sim, client = shop
    body = sim.place_order([{"sku": "MS-0001-1", "quantity": 2}])
    assert client.event_order(shopify_event({**body, "refunds": [{"id": 1}]})) is None
    assert client.event_order(shopify_event({k: v for k, v in body.items() if k != "updated_at"})) is None
    assert client.event_order(shopify_event(body, topic="products/update")) is None


def test_woocommerce_order_bodies_say_what_the_rest_api_says(woo: tuple[WooCommerceSandbox, Connector]) -> None:
    sim, client = woo
    plain = sim.place_order([{"sku": "MS-0001-1", "quantity": 2}, {"sku": "MS-0004-2", "quantity": 3}])
    cancelled = sim.cancel_order(sim.place_order([{"sku": "MS-0002-1", "quantity": 1}])["id"])
    for body in (plain, cancelled):
        carried = client.event_order(ChannelEvent("w-1", "order.updated", body))
        assert carried is not None
        assert carried == client.order(str(body["id"]))
    refunded = sim.refund_order(sim.place_order([{"sku": "MS-0003-1", "quantity": 1}])["id"])
    assert client.event_order(ChannelEvent("w-2", "order.updated", refunded)) is None  # its lines need a read
