"""Listing push against real simulators: creates with the account's rules, updates by field
policy (hub / channel / conflict), and a dry run that sends nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from store import tables
from sync.catalog.importing import import_catalog
from sync.catalog.push import push_listings
from sync.conflicts.resolve import resolve
from sync.service.workers import make_worker
from tests.sync.catalog_world import World, sandboxes_fixture, world_fixture  # noqa: F401 - fixtures


def set_price(world: World, sku: str, price: str) -> None:
    with world.hub.db.session() as session:
        variant = session.scalar(select(tables.Variant).where(tables.Variant.sku == sku))
        assert variant is not None
        variant.price = Decimal(price)


def hub_price(world: World, sku: str) -> str:
    with world.hub.db.session() as session:
        return str(session.scalar(select(tables.Variant.price).where(tables.Variant.sku == sku)))


def ops(plans: list, sku: str) -> list[str]:
    return [p.op for p in plans if p.sku == sku]


@pytest.fixture
def synced(world: World) -> World:
    """Catalogue imported from woo; a first push records every field as in sync."""
    import_catalog(world.hub, "woo")
    world.hub.settings.accounts = {"woo": {"field_policy": "hub"}}
    plans = push_listings(world.hub, ["woo"])
    assert {p.op for p in plans} == {"unchanged"}
    assert world.woo.writes.entries() == []
    return world


def test_publish_creates_missing_listings_with_the_account_rules(world: World) -> None:
    import_catalog(world.hub, "woo")
    with world.hub.db.session() as session:
        product = tables.Product(title="Gadget", product_type="Tools")
        session.add(product)
        session.flush()
        session.add(tables.Variant(product_id=product.id, sku="GAD-1", title="One", options={"Size": "One"},
                                   price=Decimal("10.00"), currency="EUR"))
    world.hub.settings.accounts = {"shop": {"publish": True, "price_markup_percent": 20, "price_ending": ".99",
                                            "title_template": "{title} - {option1}", "exclude_sku": ["MS-*"]}}
    plans = push_listings(world.hub, ["shop"], skus=["GAD-1"])
    assert ops(plans, "GAD-1") == ["create"]
    created = world.channel_listing("shop", "GAD-1")
    assert (created.product_title, str(created.price.amount if created.price else None)) == ("Gadget - One", "12.99")
    assert world.variant_sku(world.listing("shop", "GAD-1")) == "GAD-1"
    world.shop.writes.clear()
    again = push_listings(world.hub, ["shop"], skus=["GAD-1"])
    assert ops(again, "GAD-1") == ["unchanged"]


def test_hub_change_is_pushed_with_the_price_rules(synced: World) -> None:
    world = synced
    world.hub.settings.accounts = {"woo": {"field_policy": "conflict", "price_add": "1", "price_ending": ".95"}}
    set_price(world, "MS-0002-1", "20.00")
    plans = push_listings(world.hub, ["woo"], skus=["MS-0002-1"])
    assert ops(plans, "MS-0002-1") == ["update"]
    listing = world.channel_listing("woo", "MS-0002-1")
    assert listing.price is not None and str(listing.price.amount) == "21.95"
    assert ops(push_listings(world.hub, ["woo"], skus=["MS-0002-1"]), "MS-0002-1") == ["unchanged"]


def test_dry_run_sends_nothing(synced: World) -> None:
    world = synced
    set_price(world, "MS-0001-1", "99.00")
    world.woo.writes.clear()
    world.woo.requests.reset()
    plans = push_listings(world.hub, ["woo"], dry_run=True)
    change = next(p for p in plans if p.sku == "MS-0001-1")
    assert change.op == "update" and [(c.field, c.hub) for c in change.changes] == [("price", "99.00")]
    assert world.woo.writes.entries() == []
    routes = world.woo.requests.as_dict()["by_route"]
    assert routes and all(route.split()[0] == "GET" for route in routes), routes
    assert world.channel_listing("woo", "MS-0001-1").price.amount != Decimal("99.00")  # type: ignore[union-attr]


def test_channel_only_change_under_each_policy(synced: World) -> None:
    world = synced
    world.edit("woo", "MS-0001-1", product_title="Channel title")
    world.hub.settings.accounts = {"woo": {"field_policy": "conflict"}}
    push_listings(world.hub, ["woo"], skus=["MS-0001-1"])
    assert world.channel_listing("woo", "MS-0001-1").product_title == "Channel title"
    assert [c.kind for c in world.conflicts()] == ["field_changed_on_channel"]
    world.hub.settings.accounts = {"woo": {"field_policy": "channel"}}
    push_listings(world.hub, ["woo"], skus=["MS-0001-1"])
    with world.hub.db.session() as session:
        titles = set(session.scalars(select(tables.Product.title)))
    assert "Channel title" in titles  # adopted into the hub; the conflict settled itself
    assert world.conflicts() == []
    world.edit("woo", "MS-0002-1", product_title="Edited again")
    world.hub.settings.accounts = {"woo": {"field_policy": "hub"}}
    push_listings(world.hub, ["woo"], skus=["MS-0002-1"])
    assert world.channel_listing("woo", "MS-0002-1").product_title == "Product 0002"


def test_both_sides_changed_opens_a_conflict_and_keep_hub_pushes(synced: World) -> None:
    world = synced
    world.hub.settings.accounts = {"woo": {"field_policy": "conflict"}}
    world.edit("woo", "MS-0003-1", price=Decimal("55.00"))
    set_price(world, "MS-0003-1", "44.00")
    plans = push_listings(world.hub, ["woo"], skus=["MS-0003-1"])
    assert ops(plans, "MS-0003-1") == ["conflict"]
    [conflict] = world.conflicts()
    assert conflict.kind == "field_changed_both_sides" and conflict.evidence["channel"] == "55.00"
    resolve(world.hub, conflict.id, "keep-hub", actor="ops", note="hub is right")
    make_worker(world.hub.redis, queues=["catalog"]).work(burst=True)
    listing = world.channel_listing("woo", "MS-0003-1")
    assert listing.price is not None and listing.price.amount == Decimal("44.00")
    assert hub_price(world, "MS-0003-1") == "44.00"
    assert ops(push_listings(world.hub, ["woo"], skus=["MS-0003-1"]), "MS-0003-1") == ["unchanged"]
