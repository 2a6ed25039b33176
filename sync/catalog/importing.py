"""The canonical catalogue: import from a chosen account, refresh an account's listings, and jobs.

`import_catalog` builds or updates products and variants keyed by SKU (a re-run updates,
never duplicates), then refreshes that account's listings, which match trivially.
`refresh_listings` streams an account's listings through `sync.catalog.refresh`. Both store
records as they are read, a batch to a short transaction (nothing is held whole in memory, and a
slow platform never holds a database lock). Jobs run on the `catalog` queue, below stock and
orders, so a catalogue import never delays a stock push.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

import canonical
from connectors.base import Connector
from store import tables
from store.bulk import insert_many
from store.chunks import among, chunked
from store.types import utcnow
from sync.catalog import linking
from sync.catalog.refresh import BATCH as REFRESH_BATCH
from sync.catalog.refresh import Refresh
from sync.hub.accounts import get_account, job_account
from sync.hub.audit import audit
from sync.hub.collector import chunk_done, with_fewer_collections
from sync.hub.context import Hub
from sync.hub.queues import enqueue_unique
from sync.stock.change import StockChange

Progress = Callable[[int], None]
CATALOG_QUEUE = "catalog"


BATCH = 500  # products (or listings: sync.catalog.refresh.BATCH) stored per transaction


@contextmanager
def channel_stream(hub: Hub, account_name: str, read: Callable[[Connector], Iterable[Any]],
                   progress: Progress | None) -> Iterator[tuple[tables.Account, Iterator[Any], Connector]]:
    """What `read(connector)` yields for the account, one record at a time (nothing is held
    whole in memory); the connector's `skipped` tells afterwards what it could not read."""
    with hub.db.session() as session:
        account = get_account(session, account_name)
    connector = hub.connector(account)

    def counted() -> Iterator[Any]:
        for n, item in enumerate(read(connector), start=1):
            if progress:
                progress(n)
            yield item

    try:
        yield account, counted(), connector
    finally:
        connector.close()


# ---- import ------------------------------------------------------------------------------------
def _set(row: Any, values: dict[str, Any]) -> bool:
    """Assign `values`; True when anything changed."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def product_values(product: canonical.Product) -> dict[str, Any]:
    return {"title": product.title[:500], "description": product.description, "vendor": product.vendor,
            "product_type": product.product_type, "tags": list(product.tags), "status": product.status.value}


def variant_values(variant: canonical.Variant) -> dict[str, Any]:
    price, compare_at = variant.price, variant.compare_at_price
    return {"barcode": variant.barcode, "title": variant.title[:500], "options": dict(variant.options),
            "price": price.amount if price else None, "compare_at_price": compare_at.amount if compare_at else None,
            "currency": price.currency if price else (compare_at.currency if compare_at else None),
            "tracked": variant.tracked}


def upsert_products(session: Session, products: Sequence[canonical.Product], counts: dict[str, int]) -> None:
    """Create or update a batch of products and their variants by SKU: one query finds the
    variants the hub has, one flush writes the new products, one the variants."""
    products = [p for p in products if p.variants]
    skus = [v.sku for p in products for v in p.variants]
    existing = {v.sku: v for chunk in chunked(skus)
                for v in session.scalars(select(tables.Variant).where(among(session, tables.Variant.sku, chunk)))}
    if not existing and len(set(skus)) == len(skus):
        insert_new(session, products, counts)
        return
    owners = {p.id: p for p in session.scalars(select(tables.Product).where(
        among(session, tables.Product.id, sorted({v.product_id for v in existing.values()}))))} if existing else {}
    rows: list[tables.Product] = []
    for product in products:
        known = next((existing[v.sku] for v in product.variants if v.sku in existing), None)
        row = owners.get(known.product_id) if known is not None else None
        if row is None:
            row = tables.Product(**product_values(product))
            session.add(row)
            counts["products_created"] += 1
        elif _set(row, product_values(product)):
            counts["products_updated"] += 1
        rows.append(row)
    session.flush()
    for product, row in zip(products, rows, strict=True):
        for variant in product.variants:
            values = {**variant_values(variant), "product_id": row.id}
            found = existing.get(variant.sku)
            if found is None:
                found = tables.Variant(sku=variant.sku, **values)
                session.add(found)
                existing[variant.sku] = found
                counts["variants_created"] += 1
            elif _set(found, values):
                counts["variants_updated"] += 1
    session.flush()


def insert_new(session: Session, products: Sequence[canonical.Product], counts: dict[str, int]) -> None:
    """A batch of products none of whose SKUs the hub has (a first import): two executemany
    INSERTs instead of an ORM object and a unit-of-work entry per row (the variants' through
    `store.bulk.insert_many`: converted a column at a time, not a parameter at a time)."""
    product_table, variant_table = cast(Table, tables.Product.__table__), cast(Table, tables.Variant.__table__)
    ids = session.execute(insert(product_table).returning(product_table.c.id, sort_by_parameter_order=True),
                          [product_values(p) for p in products]).scalars().all()
    rows = [{"sku": v.sku, **variant_values(v), "product_id": product_id}
            for product, product_id in zip(products, ids, strict=True) for v in product.variants]
    insert_many(session, variant_table, rows)
    counts["products_created"] += len(products)
    counts["variants_created"] += len(rows)


@with_fewer_collections
def import_catalog(hub: Hub, account_name: str, *, actor: str = "marketsync",
                   progress: Progress | None = None) -> dict[str, int]:
    """Build or update the catalogue from `account_name` and refresh its listings, from one read
    of the channel (`Connector.catalogue`: products, each followed by its listings).

    Products and listings are stored as they are read, up to `BATCH` products and
    `REFRESH_BATCH` listings to a transaction: each product is whole, and a re-run after a
    failure updates what was stored and adds the rest. The listings are then matched, linked and
    settled as a refresh does (`Refresh.finish`)."""
    counts = {"products": 0, "products_created": 0, "products_updated": 0, "variants_created": 0,
              "variants_updated": 0, "skipped": 0}
    normalised = hub.settings.mapping.normalised_sku
    with channel_stream(hub, account_name, lambda connector: connector.catalogue(), progress) as \
            (account, stream, connector):
        refresh = Refresh(account, normalised=normalised, actor=actor)
        for products, listings in catalogue_batches(stream):
            counts["products"] += len(products)
            with hub.db.session() as session:
                if products:  # first: the listings' variants are then stored
                    upsert_products(session, products, counts)
                if listings:
                    refresh.upsert(session, listings)
            chunk_done(sum(len(p.variants) for p in products) + len(listings))
        counts["skipped"] = len(connector.skipped)  # products, variants and listings the read could not take
    with hub.db.session() as session:
        audit(session, actor, "catalog.import", f"account:{account_name}", dict(counts))
    with hub.db.session() as session:
        applied = refresh.finish(StockChange(session, hub.settings))
    linking.schedule(hub, applied.accounts)
    return {**counts, **{f"listings_{k}": v for k, v in applied.counts().items()}}


def catalogue_batches(records: Iterable[canonical.Product | canonical.Listing],
                      ) -> Iterator[tuple[list[canonical.Product], list[canonical.Listing]]]:
    """`records` as (products, listings) batches of at most `BATCH` products and `REFRESH_BATCH`
    listings, in the order read (a listing follows its product, so its batch stores that first)."""
    products: list[canonical.Product] = []
    listings: list[canonical.Listing] = []
    for record in records:
        if isinstance(record, canonical.Listing):
            listings.append(record)
        else:
            products.append(record)
        if len(products) >= BATCH or len(listings) >= REFRESH_BATCH:
            yield products, listings
            products, listings = [], []
    if products or listings:
        yield products, listings


# ---- listings ----------------------------------------------------------------------------------
def refresh_listings(hub: Hub, account_name: str, *, actor: str = "marketsync",
                     progress: Progress | None = None) -> dict[str, int]:
    """Upsert `account_name`'s listings, match them to variants and keep its conflicts current.

    Listings are stored as they are read (`sync.catalog.refresh.BATCH` to a transaction, so a
    slow channel never holds a database lock), then one transaction marks what was absent,
    links what matches and keeps the conflicts in step."""
    normalised = hub.settings.mapping.normalised_sku
    with channel_stream(hub, account_name, lambda connector: connector.listings(), progress) as \
            (account, stream, connector):
        refresh = Refresh(account, normalised=normalised, actor=actor)
        for batch in chunked(stream, REFRESH_BATCH):
            with hub.db.session() as session:
                refresh.upsert(session, batch)
            chunk_done(len(batch))
        skipped = len(connector.skipped)
    with hub.db.session() as session:
        applied = refresh.finish(StockChange(session, hub.settings))
    linking.schedule(hub, applied.accounts)
    return {**applied.counts(), "skipped": skipped}


# ---- jobs (entry points in `sync.jobs`) -------------------------------------------------------
def run_recorded(hub: Hub, kind: str, account_id: int, work: Callable[[Hub, str], dict[str, int]]) -> dict[str, int]:
    """Run `work` for an account, recorded as a sync run (counts, or the error)."""
    with hub.db.session() as session:
        account = job_account(session, account_id)
        if account is None:
            return {"skipped": 1}  # removed or disabled since it was queued: nothing to do
        name = account.name
        run = tables.SyncRun(kind=kind, account_id=account_id)
        session.add(run)
        session.flush()
        run_id = run.id
    try:
        counts = work(hub, name)
    except Exception as exc:
        _finish(hub, run_id, "failed", {}, f"{type(exc).__name__}: {exc}"[:2000])
        raise
    _finish(hub, run_id, "done", counts, None)
    return counts


def _finish(hub: Hub, run_id: int, status: str, counts: dict[str, int], error: str | None) -> None:
    with hub.db.session() as session:
        run = session.get(tables.SyncRun, run_id)
        if run is not None:
            run.status, run.counts, run.error, run.finished_at = status, counts, error, utcnow()


def enqueue(hub: Hub, function: str, job_id: str, *args: Any) -> str:
    """Put a catalogue job on the catalog queue once: a queued or running job with the id absorbs it."""
    enqueue_unique(hub.redis, CATALOG_QUEUE, function, args, job_id, timeout=hub.settings.workers.job_timeout_s)
    return job_id


def enqueue_refresh(hub: Hub, account_id: int) -> str:
    return enqueue(hub, "sync.jobs.refresh_listings", f"refresh-listings-{account_id}", account_id)


def enqueue_import(hub: Hub, account_id: int) -> str:
    return enqueue(hub, "sync.jobs.import_catalog", f"import-catalog-{account_id}", account_id)


def money_text(amount: Decimal | None, currency: str | None) -> str:
    return "" if amount is None else f"{amount} {currency or ''}".strip()
