"""Propagation: movements recompute every listing, pushes coalesce into the fewest writes."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bench.harness import connect_both, connect_woocommerce, link_listings
from connectors.woocommerce import WooCommerceConnector
from sandbox.catalogue import SeedSpec
from sandbox.shopify import ShopifySandbox
from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from sync.hub.context import Hub
from sync.hub.queues import queue
from sync.service.workers import run_worker
from sync.stock import operations as stock
from sync.stock.change import StockChange
from sync.stock.ledger import Movement
from sync.stock.locations import hub_location
from sync.stock.push_queue import schedule_pushes


def work(hub: Hub) -> None:
    run_worker(hub.redis, burst=True)


def rows(hub: Hub, platform_rows: list[tuple[str, str]]) -> tuple[int, list[int], dict[str, int]]:
    """One variant, one listing per (account, platform); returns (variant, listing ids, account ids)."""
    with hub.db.session() as session:
        product = tables.Product(title="P")
        session.add(product)
        session.flush()
        variant = tables.Variant(product_id=product.id, sku="SKU-1")
        session.add(variant)
        session.flush()
        accounts, listings = {}, []
        for name, platform in platform_rows:
            account = tables.Account(name=name, platform=platform, options={})
            session.add(account)
            session.flush()
            listing = tables.Listing(account_id=account.id, variant_id=variant.id, external_product_id="1",
                                     external_variant_id=f"{name}-1", external_inventory_item_id=f"{name}-i")
            session.add(listing)
            session.flush()
            accounts[name], listings = account.id, [*listings, listing.id]
        return variant.id, listings, accounts


def listing(hub: Hub, listing_id: int) -> tables.Listing:
    with hub.db.session() as session:
        row = session.get(tables.Listing, listing_id)
        assert row is not None
        return row


def move(hub: Hub, key: str, variant_id: int, on_hand: int = 0, committed: int = 0) -> None:
    with hub.db.session() as session:
        change = StockChange(session, hub.settings)
        change.move(Movement(key, variant_id, hub_location(session).id, on_hand_delta=on_hand,
                             committed_delta=committed))
        change.settle()


def test_a_movement_recomputes_every_listing_with_its_account_rules(hub: Hub) -> None:
    hub.settings.accounts = {"shop": {"buffer": 2}, "woo": {"max_qty": 5}}
    hub.settings.skus = {"SKU-1": {"safety_stock": 1}}
    variant, (shop_listing, woo_listing), _ = rows(hub, [("shop", "shopify"), ("woo", "woocommerce")])
    assert listing(hub, shop_listing).desired_quantity is None  # nothing in the ledger yet: nothing published
    move(hub, "adjust:1", variant, on_hand=20)
    move(hub, "order:x:1:1:commit", variant, committed=3)
    shop_row, woo_row = listing(hub, shop_listing), listing(hub, woo_listing)
    assert (shop_row.desired_quantity, woo_row.desired_quantity) == (20 - 3 - 1 - 2, 5)
    assert shop_row.push_pending and woo_row.push_pending


def test_channel_sold_moves_acknowledged_on_compare_and_swap_platforms_only(hub: Hub) -> None:
    variant, (shop_listing, woo_listing), accounts = rows(hub, [("shop", "shopify"), ("woo", "woocommerce")])
    move(hub, "adjust:1", variant, on_hand=10)
    with hub.db.session() as session:
        for listing_id in (shop_listing, woo_listing):
            row = session.get(tables.Listing, listing_id)
            assert row is not None
            row.acknowledged_quantity, row.push_pending = 10, False
    with hub.db.session() as session:  # a sale on each channel: the order commits 1, the channel already sold it
        change = StockChange(session, hub.settings)
        change.move(Movement("order:s:1:1:commit", variant, hub_location(session).id, committed_delta=1))
        change.channel_sold(shop_listing, 1)
        change.move(Movement("order:w:1:1:commit", variant, hub_location(session).id, committed_delta=1))
        change.channel_sold(woo_listing, 1)
        assert change.settle() == {accounts["shop"], accounts["woo"]}
    shop_row, woo_row = listing(hub, shop_listing), listing(hub, woo_listing)
    assert (shop_row.acknowledged_quantity, woo_row.acknowledged_quantity) == (9, 10)
    assert shop_row.desired_quantity == woo_row.desired_quantity == 8
    assert shop_row.push_pending and woo_row.push_pending  # 9 → 8 for the other sale; woo 10 → 8


def test_schedule_pushes_enqueues_one_job_per_pending_account(hub: Hub) -> None:
    variant, _, accounts = rows(hub, [("shop", "shopify"), ("woo", "woocommerce")])
    assert schedule_pushes(hub) == []
    move(hub, "adjust:1", variant, on_hand=4)
    first = schedule_pushes(hub)
    assert sorted(jid.rsplit("-", 1)[0] for jid in first) == sorted(f"push-stock-{a}" for a in accounts.values())
    assert schedule_pushes(hub) == []  # queued jobs absorb the requests
    assert queue("stock", hub.redis).count == 2


@pytest.fixture
def woo() -> Iterator[WooCommerceSandbox]:
    with WooCommerceSandbox(spec=SeedSpec(products=20, variants=1, stock=20)) as sandbox:
        yield sandbox


def woo_hub(hub: Hub, sandbox: WooCommerceSandbox) -> None:
    connect_woocommerce(hub, sandbox, "woo")
    link_listings(hub, "woo")
    stock.import_stock(hub, "woo")
    work(hub)


def test_ten_orders_for_one_sku_cause_one_write_of_the_final_value(hub: Hub, woo: WooCommerceSandbox) -> None:
    woo_hub(hub, woo)
    woo.writes.clear()
    with hub.db.session() as session:
        variant = session.scalar(select(tables.Variant.id).where(tables.Variant.sku == "MS-0003-1"))
    for n in range(10):
        move(hub, f"order:test:{n}:1:commit", variant, committed=1)
        schedule_pushes(hub)
    work(hub)
    writes = [w for w in woo.writes.entries() if w["sku"] == "MS-0003-1"]
    assert [(w["before"], w["after"]) for w in writes] == [(20, 10)]
    assert woo.stock("MS-0003-1") == 10


def test_a_change_made_while_the_push_runs_is_pushed_too(hub: Hub, woo: WooCommerceSandbox,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    woo_hub(hub, woo)
    with hub.db.session() as session:
        variant = session.scalar(select(tables.Variant.id).where(tables.Variant.sku == "MS-0001-1"))
    real = WooCommerceConnector.set_stock
    calls: list[int] = []

    def set_stock_while_an_order_arrives(self: WooCommerceConnector, updates: Any) -> Any:
        calls.append(len(updates))
        result = real(self, updates)
        if len(calls) == 1:  # another worker ingests an order and asks for a push meanwhile
            move(hub, "order:during:1:1:commit", variant, committed=5)
            assert schedule_pushes(hub) == []  # absorbed by the running job…
        return result

    monkeypatch.setattr(WooCommerceConnector, "set_stock", set_stock_while_an_order_arrives)
    move(hub, "adjust:before", variant, on_hand=-2)
    schedule_pushes(hub)
    work(hub)
    assert woo.stock("MS-0001-1") == 20 - 2 - 5  # …which pushed again before it ended
    assert calls == [1, 1]
    assert not listing_pending(hub)


def listing_pending(hub: Hub) -> list[int]:
    with hub.db.session() as session:
        return list(session.scalars(select(tables.Listing.id).where(tables.Listing.push_pending.is_(True))))


def published(hub: Hub) -> dict[tuple[str, str], int]:
    with hub.db.session() as session:
        result = session.execute(select(tables.Account.name, tables.Variant.sku, tables.Listing.desired_quantity)
                                 .join(tables.Account, tables.Account.id == tables.Listing.account_id)
                                 .join(tables.Variant, tables.Variant.id == tables.Listing.variant_id))
        return {(name, sku): quantity for name, sku, quantity in result}


def write_calls(woo: WooCommerceSandbox, shop: ShopifySandbox) -> dict[str, int]:
    woo_routes = woo.requests.as_dict()["by_route"]
    return {"woo": sum(n for route, n in woo_routes.items() if route.startswith("POST") and "batch" in route),
            "shop": shop.request_counts()["by_route"].get("graphql", 0)}


@pytest.mark.slow
def test_a_burst_converges_on_both_channels_in_the_fewest_writes(hub: Hub) -> None:
    spec = SeedSpec(products=300, variants=1, stock=50)
    with WooCommerceSandbox(spec=spec) as woo, ShopifySandbox(spec=spec, plan="plus") as shop:
        connect_both(hub, woo, shop)
        woo.requests.reset()
        shop.set_plan("standard")  # the setup read the catalogue fast; the pushes face the usual limits
        shop.reset_counters()
        rng = random.Random(7)
        with hub.db.session() as session:
            variants = dict(session.execute(select(tables.Variant.sku, tables.Variant.id)).all())
        skus = sorted(variants)
        changed = rng.sample(skus, 260)
        for n in range(600):  # a burst of orders and adjustments on 260 of the 300 SKUs
            sku = changed[n % len(changed)]
            move(hub, f"burst:{n}", variants[sku], on_hand=-rng.randint(0, 1), committed=rng.randint(0, 1))
        schedule_pushes(hub)
        work(hub)
        desired = published(hub)
        for sku in skus:
            assert woo.stock(sku) == desired[("woo", sku)]
            assert next(iter(shop.quantities(sku).values()))["available"] == desired[("shop", sku)]
        moved = sum(1 for sku in skus if desired[("woo", sku)] != 50)
        calls = write_calls(woo, shop)
        assert calls["woo"] <= math.ceil(math.ceil(moved / 100) * 1.05)
        assert calls["shop"] <= math.ceil(math.ceil(moved / 250) * 1.05)
        assert shop.request_counts()["throttled"] == 0
        assert "429" not in woo.requests.as_dict()["by_status"]
        assert not listing_pending(hub)
