"""Resolving conflicts: fitting resolutions only, idempotent, audited, with real effects
(links publish stock, held order lines reach the ledger, --create adds to the catalogue)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

import canonical
from mapping.conflicts import ConflictKind, open_conflict
from store import tables
from sync.catalog.importing import import_catalog, refresh_listings
from sync.conflicts.resolve import ResolveError, plan_bulk, reopen_conflict, resolve, resolve_bulk
from sync.orders.ingest import ingest_order
from sync.stock.change import StockChange
from sync.stock.ledger import Movement, level
from sync.stock.locations import hub_location
from tests.sync.catalog_world import World, sandboxes_fixture, world_fixture  # noqa: F401 - fixtures


def conflict_id(world: World, kind: str, sku: str) -> int:
    with world.hub.db.session() as session:
        found = session.scalar(select(tables.Conflict.id)
                               .join(tables.Listing, tables.Listing.id == tables.Conflict.listing_id)
                               .where(tables.Conflict.kind == kind, tables.Listing.channel_sku == sku,
                                      tables.Conflict.status == "open"))
        assert found is not None, (kind, sku)
        return int(found)


@pytest.fixture
def problems(world: World) -> World:
    import_catalog(world.hub, "woo")
    world.make_problems()
    refresh_listings(world.hub, "shop")
    return world


def test_link_is_idempotent_audited_and_refuses_a_different_way(problems: World) -> None:
    world = problems
    cid = conflict_id(world, "sku_barcode_mismatch", "MS-0002-1")
    with pytest.raises(ResolveError, match="fitting: --link, --unlink, --create, --ignore"):
        resolve(world.hub, cid, "keep-hub", actor="ops")
    outcome = resolve(world.hub, cid, "link", argument="MS-0002-1", actor="ops", note="SKU is right")
    assert outcome.changed and world.variant_sku(world.listing("shop", "MS-0002-1")) == "MS-0002-1"
    again = resolve(world.hub, cid, "link", argument="MS-0002-1", actor="ops")
    assert not again.changed and "already resolved" in again.message
    with pytest.raises(ResolveError, match="reopen"):
        resolve(world.hub, cid, "ignore", actor="ops")
    with world.hub.db.session() as session:
        entry = session.scalar(select(tables.AuditEntry).where(tables.AuditEntry.subject == f"conflict:{cid}",
                                                               tables.AuditEntry.action == "conflict.resolve"))
        assert entry is not None and entry.actor == "ops" and entry.detail["note"] == "SKU is right"
    # the link stands on the next refresh: the barcode disagreement is now about a mapped listing
    refresh_listings(world.hub, "shop")
    assert world.variant_sku(world.listing("shop", "MS-0002-1")) == "MS-0002-1"
    reopen_conflict(world.hub, cid, actor="ops")
    assert resolve(world.hub, cid, "ignore", actor="ops").changed


def test_bulk_by_barcode_links_mismatches_to_the_barcode_variant(problems: World) -> None:
    world = problems
    plan = plan_bulk(world.hub, "sku_barcode_mismatch", "shop", "barcode")
    assert [item.would for item in plan] == ["link MS-0003-1"]
    assert world.listing("shop", "MS-0002-1").variant_id is None  # a dry plan changes nothing
    items = resolve_bulk(world.hub, "sku_barcode_mismatch", None, "barcode", dry_run=False, actor="ops")
    assert [item.applied for item in items] == [True]
    assert world.variant_sku(world.listing("shop", "MS-0002-1")) == "MS-0003-1"
    skipped = resolve_bulk(world.hub, "unmatched_listing", "shop", "barcode", dry_run=True, actor="ops")
    assert [item.would for item in skipped] == ["stays open: the listing has no barcode"]


def test_create_adds_the_listing_to_the_catalogue(problems: World) -> None:
    world = problems
    cid = conflict_id(world, "unmatched_listing", "LOCAL-ONLY")
    resolve(world.hub, cid, "create", actor="ops")
    with world.hub.db.session() as session:
        variant = session.scalar(select(tables.Variant).where(tables.Variant.sku == "LOCAL-ONLY"))
        assert variant is not None and variant.price is not None and str(variant.price) == "4.50"
        product = session.get(tables.Product, variant.product_id)
        assert product is not None and product.title == "Local only"
    assert world.variant_sku(world.listing("shop", "LOCAL-ONLY")) == "LOCAL-ONLY"
    with pytest.raises(ResolveError, match="already in the catalogue"):
        resolve(world.hub, conflict_id(world, "duplicate_sku", "MS-0003-1"), "create", actor="ops")


def test_ignored_conflicts_stay_quiet_and_sku_changes_can_be_accepted(problems: World) -> None:
    world = problems
    resolve(world.hub, conflict_id(world, "unmatched_listing", "LOCAL-ONLY"), "ignore", actor="ops")
    world.edit("woo", "MS-0002-2", sku="MS-0002-2-NEW")
    refresh_listings(world.hub, "woo")
    resolve(world.hub, conflict_id(world, "sku_changed", "MS-0002-2-NEW"), "keep-channel", actor="ops")
    counts = [refresh_listings(world.hub, name)["opened"] for name in ("shop", "woo")]
    assert counts == [0, 0]
    assert world.variant_sku(world.listing("woo", "MS-0002-2-NEW")) == "MS-0002-2"


def test_linking_an_order_line_releases_it_to_the_ledger(problems: World) -> None:
    world = problems
    now = datetime.now(UTC)
    local = world.listing("shop", "LOCAL-ONLY")
    with world.hub.db.session() as session:
        account = session.get(tables.Account, local.account_id)
        assert account is not None
        change = StockChange(session, world.hub.settings)
        ingest_order(change, account, canonical.Order(
            account="shop", external_id="gid://shopify/Order/77", status=canonical.OrderStatus.OPEN, currency="EUR",
            lines=(canonical.OrderLine(external_id="1", sku="LOCAL-ONLY", external_variant_id=local.external_variant_id,
                                       quantity=2),), placed_at=now, updated_at=now), box=world.hub.secret_box,
                     source="test")
        change.settle()
        variant = session.scalar(select(tables.Variant).where(tables.Variant.sku == "MS-0001-1"))
        assert variant is not None
        variant_id, location = variant.id, hub_location(session).id
    line_conflict = [c for c in world.conflicts() if c.kind == ConflictKind.UNMAPPED_ORDER_LINE]
    assert len(line_conflict) == 1
    # MS-0001-1 has a listing on shop already: a second one is linked only when asked explicitly
    resolve(world.hub, line_conflict[0].id, "link", argument="MS-0001-1", actor="ops", allow_duplicate=True)
    with world.hub.db.session() as session:
        assert level(session, variant_id, location) == (0, 2)
    assert [c.kind for c in world.conflicts() if c.listing_id == local.id] == []


def test_stock_drift_adopt_and_revert(problems: World) -> None:
    world = problems
    listing = world.listing("woo", "MS-0001-1")
    with world.hub.db.session() as session:
        location = hub_location(session).id
        assert listing.variant_id is not None
        change = StockChange(session, world.hub.settings)
        change.move(Movement("adjust:t1", listing.variant_id, location, on_hand_delta=10))
        change.settle()
        row = session.get(tables.Listing, listing.id)
        assert row is not None
        row.acknowledged_quantity = 10
        evidence = {"hub_acknowledged": 10, "channel_observed": 7, "hub_desired": 10, "observed_at": "t1"}
        first = open_conflict(session, ConflictKind.STOCK_DRIFT, "stock_drift:x:1", evidence=evidence,
                              account_id=listing.account_id, listing_id=listing.id).id
    resolve(world.hub, first, "adopt", actor="ops")
    with world.hub.db.session() as session:
        assert level(session, listing.variant_id, location) == (7, 0)
        opened = open_conflict(session, ConflictKind.STOCK_DRIFT, "stock_drift:x:2",
                               evidence={**evidence, "channel_observed": 3}, account_id=listing.account_id,
                               listing_id=listing.id).id
    resolve(world.hub, opened, "revert", actor="ops")
    with world.hub.db.session() as session:
        row = session.get(tables.Listing, listing.id)
        assert row is not None and row.acknowledged_quantity == 3 and row.push_pending
        assert level(session, listing.variant_id, location) == (7, 0)
