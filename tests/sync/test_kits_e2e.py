"""Kits end to end (both databases): WooCommerce and Shopify simulators over loopback HTTP, real Redis, RQ
worker. A kit sale on one channel lowers its components and the kit on every channel, in one push each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bench.harness import connect_both
from sandbox.catalogue import SeedSpec
from sandbox.shopify import ShopifySandbox
from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from sync.hub.context import Hub
from sync.orders.polling import poll_orders
from sync.service.workers import run_worker
from sync.stock import kit_definitions

KIT, MUG, SAUCER = "MS-0003-1", "MS-0001-1", "MS-0002-1"


@pytest.fixture
def channels(hub: Hub) -> Iterator[dict[str, Any]]:
    """Both channels seeded alike (three SKUs, 20 each), connected, stock from WooCommerce; KIT = 2 MUG + 1 SAUCER."""
    spec = SeedSpec(products=3, variants=1, stock=20)
    with WooCommerceSandbox(spec=spec) as woo, ShopifySandbox(spec=spec, plan="plus") as shop:
        connect_both(hub, woo, shop)
        kit_definitions.define(hub, KIT, [(MUG, 2), (SAUCER, 1)], actor="test")
        run_worker(hub.redis, burst=True)
        with hub.db.session() as session:
            accounts = dict(session.execute(select(tables.Account.name, tables.Account.id)).all())
        yield {"woo": woo, "shop": shop, "accounts": accounts}


def shown(channels: dict[str, Any], sku: str) -> tuple[int, int]:
    """(WooCommerce, Shopify) stock of `sku` as the channels show it."""
    shop_levels = channels["shop"].quantities(sku)
    return channels["woo"].stock(sku), next(iter(shop_levels.values()))["available"]


def woo_batches(woo: WooCommerceSandbox) -> int:
    routes = woo.requests.as_dict()["by_route"]
    return sum(n for route, n in routes.items() if route.startswith("POST") and "batch" in route)


def test_a_kit_sale_on_one_channel_lowers_components_and_kit_on_the_others(hub: Hub,
                                                                          channels: dict[str, Any]) -> None:
    woo, shop = channels["woo"], channels["shop"]
    assert shown(channels, KIT) == (10, 10)  # the kit's own 20 given up: ⌊20 ÷ 2⌋ MUG allows 10
    woo.requests.reset()
    woo.place_order([{"sku": KIT, "quantity": 3}])
    poll_orders(hub, channels["accounts"]["woo"])
    poll_orders(hub, channels["accounts"]["woo"])  # polled twice: counted once
    run_worker(hub.redis, burst=True)
    assert shown(channels, MUG) == (14, 14) and shown(channels, SAUCER) == (17, 17)
    assert shown(channels, KIT) == (7, 7)
    assert woo_batches(woo) == 1  # the two components and the kit went out in one write
    shop.place_order([{"sku": MUG, "quantity": 5}])  # a component sells on the other channel
    poll_orders(hub, channels["accounts"]["shop"])
    run_worker(hub.redis, burst=True)
    assert shown(channels, MUG) == (9, 9) and shown(channels, KIT) == (4, 4)  # ⌊9 ÷ 2⌋
    shop.place_order([{"sku": KIT, "quantity": 1}])  # a kit sold where writes compare-and-swap
    poll_orders(hub, channels["accounts"]["shop"])
    run_worker(hub.redis, burst=True)
    assert shown(channels, MUG) == (7, 7) and shown(channels, SAUCER) == (16, 16)
    assert shown(channels, KIT) == (3, 3)
    with hub.db.session() as session:
        pending = session.scalars(select(tables.Listing.id).where(tables.Listing.push_pending.is_(True))).all()
    assert not pending
