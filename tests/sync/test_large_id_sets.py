"""Recomputing stock for more variants than PostgreSQL binds parameters in one statement.

`stock import` of 100,000 variants, or a receipt of more than 65,535 rows, recomputes every
listing of those variants at once; the id filters are split (`store.chunks`), so it completes
on both databases instead of failing and rolling everything back.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select

from store import tables
from store.chunks import IN_LIST_CHUNK, chunked
from sync.hub.context import Hub
from sync.stock.desired import recompute_desired
from sync.stock.locations import hub_location

VARIANTS = 70_000  # past PostgreSQL's 65,535 bound parameters


def test_chunked_keeps_order_and_sizes() -> None:
    parts = list(chunked(range(25), size=10))
    assert [len(p) for p in parts] == [10, 10, 5]
    assert [x for p in parts for x in p] == list(range(25))
    assert IN_LIST_CHUNK < 65_535


def test_recompute_of_more_variants_than_postgres_binds(hub: Hub) -> None:
    with hub.db.session() as session:
        location = hub_location(session).id
        account = tables.Account(name="big", platform="woocommerce", options={"url": "http://127.0.0.1:9"})
        product = tables.Product(title="Many sizes")
        session.add_all([account, product])
        session.flush()
        session.execute(insert(tables.Variant), [
            {"product_id": product.id, "sku": f"BIG-{n}", "title": "", "options": {}} for n in range(VARIANTS)])
        ids = list(session.scalars(select(tables.Variant.id).order_by(tables.Variant.id)))
        session.execute(insert(tables.Listing), [
            {"account_id": account.id, "variant_id": v, "external_product_id": "1", "external_variant_id": str(v),
             "title": "", "status": "active", "synced_fields": {}} for v in ids])
        session.execute(insert(tables.StockLevel), [
            {"variant_id": v, "location_id": location, "on_hand": 7, "committed": 2} for v in ids])
        account_id = account.id
    with hub.db.session() as session:
        assert recompute_desired(session, hub.settings, set(ids)) == {account_id}
    with hub.db.session() as session:
        published = session.execute(select(tables.Listing.desired_quantity, func.count())
                                    .group_by(tables.Listing.desired_quantity)).all()
        pending = session.scalar(select(func.count()).select_from(tables.Listing)
                                 .where(tables.Listing.push_pending.is_(True)))
    assert published == [(5, VARIANTS)]
    assert pending == VARIANTS


def test_a_refresh_linking_more_listings_than_few_rows_stores_each_link_and_identity(hub: Hub) -> None:
    """Past `store.bulk.FEW_ROWS` the links are one UPDATE … FROM unnest on PostgreSQL (JSON identities
    in an array), the look-ups one array parameter: each listing gets its own variant and identity."""
    from decimal import Decimal

    import canonical
    from store.bulk import FEW_ROWS
    from sync.catalog.linking import IDENTITY
    from sync.catalog.refresh import Refresh
    from sync.stock.change import StockChange

    count = FEW_ROWS * 3 + 7
    with hub.db.session() as session:
        account = tables.Account(name="big", platform="woocommerce", options={"url": "http://127.0.0.1:9"})
        product = tables.Product(title="Many sizes")
        session.add_all([account, product])
        session.flush()
        session.execute(insert(tables.Variant), [
            {"product_id": product.id, "sku": f"L-{n}", "barcode": None, "title": "", "options": {}}
            for n in range(count)])
        run = Refresh(account, normalised=True, actor="test")
    items = [canonical.Listing(account="big", external_product_id="p", external_variant_id=f"v{n}",
                               external_inventory_item_id=f"i{n}", sku=f"L-{n}", title=f"Size {n}",
                               product_title="Many sizes", price=canonical.Money(amount=Decimal("9.50"),
                                                                                  currency="EUR"))
             for n in range(count)]
    with hub.db.session() as session:
        run.upsert(session, items)
    with hub.db.session() as session:
        applied = run.finish(StockChange(session, hub.settings))
    assert applied.counts()["linked"] == count
    with hub.db.session() as session:
        rows = session.execute(select(tables.Listing.external_variant_id, tables.Variant.sku,
                                      tables.Listing.synced_fields)
                               .join(tables.Variant, tables.Variant.id == tables.Listing.variant_id)).all()
    assert len(rows) == count
    for external_id, sku, synced in rows:
        assert sku == f"L-{external_id.removeprefix('v')}"
        assert synced == {IDENTITY: {"sku": sku, "barcode": None}}


def test_listings_alike_share_a_chain_and_every_difference_still_counts(hub: Hub) -> None:
    """`listing_quantities` shares one chain among listings with the same account, safety stock and
    sellable sum (and no SKU table); each listing's number and chain equal `chain_for`'s for it alone."""
    from sync.stock.desired import chain_for, listing_quantities

    hub.settings.accounts = {"a": {"buffer": 2}}
    hub.settings.skus = {"S-3": {"safety_stock": 4}}
    with hub.db.session() as session:
        location = hub_location(session).id
        accounts = [tables.Account(name=n, platform="woocommerce", options={"url": "http://127.0.0.1:9"})
                    for n in ("a", "b")]
        product = tables.Product(title="Alike")
        session.add_all([*accounts, product])
        session.flush()
        on_hand = [9, 9, 9, 9, 7]  # S-0..S-3 alike but S-1's own safety stock and S-3's SKU table; S-4 fewer
        session.execute(insert(tables.Variant), [
            {"product_id": product.id, "sku": f"S-{n}", "title": "", "options": {},
             "safety_stock": 3 if n == 1 else None} for n in range(len(on_hand))])
        variants = dict(session.execute(select(tables.Variant.sku, tables.Variant.id)).all())
        session.execute(insert(tables.Listing), [
            {"account_id": account.id, "variant_id": variants[f"S-{n}"], "external_product_id": "1",
             "external_variant_id": f"{account.name}{n}", "title": "", "status": "active", "synced_fields": {}}
            for account in accounts for n in range(len(on_hand))])
        session.execute(insert(tables.StockLevel), [
            {"variant_id": variants[f"S-{n}"], "location_id": location, "on_hand": q, "committed": 1}
            for n, q in enumerate(on_hand)])
        computed = listing_quantities(session, hub.settings, list(variants.values()))
        safety = dict(session.execute(select(tables.Variant.sku, tables.Variant.safety_stock)).all())
    assert len(computed) == 10
    for item in computed:
        alone = chain_for(hub.settings, sku=item.sku, account=item.account, variant_safety=safety[item.sku],
                          levels={location: (on_hand[int(item.sku[2:])], 1)}, location_ids=item.location_ids)
        assert (item.chain, item.safety_stock, item.safety_source) == alone
    published = {(i.account, i.sku): i.published for i in computed}
    assert published == {("a", "S-0"): 6, ("a", "S-1"): 3, ("a", "S-2"): 6, ("a", "S-3"): 2, ("a", "S-4"): 4,
                         ("b", "S-0"): 8, ("b", "S-1"): 5, ("b", "S-2"): 8, ("b", "S-3"): 4, ("b", "S-4"): 6}
