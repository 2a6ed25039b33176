"""Catalogue import and listing refresh against real simulators on SQLite and PostgreSQL:
idempotent import, trivial matching on the source account, and every matching conflict kind,
each closing itself when the channel fixes it."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from connectors.woocommerce.oauth import WooCommerceOAuth1
from sandbox.catalogue import gtin13
from store import tables
from sync.catalog.importing import enqueue_refresh, import_catalog, refresh_listings
from sync.hub.queues import queue
from sync.service.workers import make_worker
from tests.sync.catalog_world import World, sandboxes_fixture, world_fixture  # noqa: F401 - fixtures

SKUS = [f"MS-000{p}-{v}" for p in (1, 2, 3) for v in (1, 2)]


def count(world: World, table: type[tables.Base]) -> int:
    with world.hub.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_import_is_idempotent_and_links_the_source_listings(world: World) -> None:
    first = import_catalog(world.hub, "woo")
    assert (first["products_created"], first["variants_created"], first["listings_linked"]) == (3, 6, 6)
    assert first["listings_opened"] == 0
    again = import_catalog(world.hub, "woo")
    assert (again["products_created"], again["variants_created"], again["variants_updated"]) == (0, 0, 0)
    assert (again["listings_created"], again["listings_linked"]) == (0, 0)
    assert (count(world, tables.Product), count(world, tables.Variant), count(world, tables.Listing)) == (3, 6, 6)
    with world.hub.db.session() as session:
        variant = session.scalar(select(tables.Variant).where(tables.Variant.sku == "MS-0002-1"))
        assert variant is not None
        assert (variant.barcode, variant.currency, variant.options) == (gtin13(201), "EUR", {"Size": "S"}) or \
            variant.barcode == gtin13(201)


def test_refresh_opens_one_conflict_per_problem_and_links_the_rest(world: World) -> None:
    import_catalog(world.hub, "woo")
    world.make_problems()
    counts = refresh_listings(world.hub, "shop")
    assert counts["seen"] == 8
    # MS-0001-2 and MS-0002-2 by SKU, ms-0001-1 by normalised SKU, ALT-CODE by barcode
    assert counts["linked"] == 4
    assert world.variant_sku(world.listing("shop", "ms-0001-1")) == "MS-0001-1"
    assert world.variant_sku(world.listing("shop", "ALT-CODE")) == "MS-0002-2"
    assert world.kinds() == [("duplicate_sku", "MS-0003-1"), ("duplicate_sku", "MS-0003-1"),
                             ("sku_barcode_mismatch", "MS-0002-1"), ("unmatched_listing", "LOCAL-ONLY")]
    assert world.listing("shop", "MS-0002-1").variant_id is None
    again = refresh_listings(world.hub, "shop")
    assert (again["opened"], again["closed"], again["linked"]) == (0, 0, 0)
    assert len(world.conflicts()) == 4


def test_normalised_matching_can_be_switched_off(world: World) -> None:
    import_catalog(world.hub, "woo")
    world.edit("shop", "MS-0001-1", sku="ms-0001-1", barcode="")  # no barcode to fall back on
    world.hub.settings.mapping.normalised_sku = False
    try:
        refresh_listings(world.hub, "shop")
    finally:
        world.hub.settings.mapping.normalised_sku = True
    assert ("unmatched_listing", "ms-0001-1") in world.kinds()


def test_conflicts_close_themselves_when_the_channel_fixes_them(world: World) -> None:
    import_catalog(world.hub, "woo")
    world.make_problems()
    refresh_listings(world.hub, "shop")
    world.edit("shop", "MS-0002-1", barcode=gtin13(201))   # barcode agrees again
    dupes = [item for item in world.connector("shop").listings() if item.sku == "MS-0003-1"]
    connector = world.connector("shop")
    connector.update_listing(max(dupes, key=lambda d: d.external_variant_id), {"sku": "MS-0003-2"})
    connector.close()
    counts = refresh_listings(world.hub, "shop")
    assert counts["closed"] == 3 and counts["linked"] == 3
    assert world.kinds() == [("unmatched_listing", "LOCAL-ONLY")]
    notes = [c.note or "" for c in world.conflicts("resolved")]
    assert all(note.startswith("resolved itself: ") for note in notes), notes
    assert len(notes) == 3


def test_sku_changed_and_listing_deleted_keep_the_link_and_heal(world: World) -> None:
    import_catalog(world.hub, "woo")
    world.edit("woo", "MS-0002-2", sku="MS-0002-2-NEW")
    product_id = world.channel_listing("woo", "MS-0001-1").external_product_id
    response = httpx.delete(f"{world.woo.url}/wp-json/wc/v3/products/{product_id}", params={"force": "true"},
                            auth=WooCommerceOAuth1(world.woo.consumer_key, world.woo.consumer_secret))
    assert response.status_code == 200
    counts = refresh_listings(world.hub, "woo")
    assert counts["deleted"] == 2
    assert world.kinds() == [("listing_deleted", "MS-0001-1"), ("listing_deleted", "MS-0001-2"),
                             ("sku_changed", "MS-0002-2-NEW")]
    changed = world.listing("woo", "MS-0002-2-NEW")
    assert world.variant_sku(changed) == "MS-0002-2" and world.listing("woo", "MS-0001-1").status == "deleted"
    world.edit("woo", "MS-0002-2-NEW", sku="MS-0002-2")
    refresh_listings(world.hub, "woo")
    assert world.kinds() == [("listing_deleted", "MS-0001-1"), ("listing_deleted", "MS-0001-2")]
    assert any("resolved itself" in (c.note or "") for c in world.conflicts("resolved"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_refresh_job_runs_on_the_catalog_queue(world: World) -> None:
    import_catalog(world.hub, "woo")
    with world.hub.db.session() as session:
        account_id = session.scalar(select(tables.Account.id).where(tables.Account.name == "shop"))
    assert account_id is not None
    job_id = enqueue_refresh(world.hub, account_id)
    assert enqueue_refresh(world.hub, account_id) == job_id  # absorbed while queued
    assert queue("catalog", world.hub.redis).count == 1
    make_worker(world.hub.redis, queues=["catalog"]).work(burst=True)
    with world.hub.db.session() as session:
        run = session.scalar(select(tables.SyncRun).where(tables.SyncRun.kind == "listing_refresh"))
        assert run is not None and run.status == "done" and run.counts["seen"] == 8


@pytest.mark.parametrize("read", ["paged", "bulk"])
def test_a_shopify_import_reads_the_catalogue_once_and_ends_as_two_reads_did(
        world: World, read: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """In bulk, products and listings come from one bulk query; what is stored, linked and reported
    is what the paged read (products, then listings) gives, duplicate SKU and unmatched listing included."""
    from connectors.shopify import bulk

    world.make_problems()
    if read == "bulk":
        monkeypatch.setattr(bulk, "BULK_THRESHOLD", 3)
    world.shop.reset_counters()
    counts = import_catalog(world.hub, "shop")
    operations = world.shop.request_counts()["by_operation"]
    if read == "bulk":
        assert operations["BulkRun"] == 1 and "Listings" not in operations and "Products" not in operations
    else:
        assert "BulkRun" not in operations and operations["Products"] == 1 and operations["Listings"] == 1
    assert {k: counts[k] for k in ("products_created", "variants_created", "variants_updated", "listings_created",
                                   "listings_linked", "listings_opened", "skipped")} == \
        {"products_created": 5, "variants_created": 7, "variants_updated": 1, "listings_created": 8,
         "listings_linked": 6, "listings_opened": 2, "skipped": 0}
    assert world.kinds() == [("duplicate_sku", "MS-0003-1"), ("duplicate_sku", "MS-0003-1")]
    assert count(world, tables.Listing) == 8
