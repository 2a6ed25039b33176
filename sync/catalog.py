"""The canonical catalogue: import from a chosen account, refresh an account's listings, and jobs.

`import_catalog` builds or updates products and variants keyed by SKU (a re-run updates,
never duplicates), then refreshes that account's listings, which match trivially.
`refresh_listings` reads an account's listings in full and hands them to
`sync.listing_refresh`. Both read the channel before opening their one transaction, so a
slow platform never holds a database lock. Jobs run on the `catalog` queue, below stock
and orders, so a catalogue import never delays a stock push.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import canonical
from connectors.base import Connector
from store import tables
from store.types import utcnow
from sync import linking
from sync.accounts import get_account, get_account_by_id
from sync.audit import audit
from sync.context import Hub
from sync.listing_refresh import apply_listings
from sync.runtime import current_hub
from sync.scheduler import enqueue_unique

Progress = Callable[[int], None]
CATALOG_QUEUE = "catalog"


def read_all(items: Iterable[Any], progress: Progress | None) -> list[Any]:
    result = []
    for item in items:
        result.append(item)
        if progress:
            progress(len(result))
    return result


def read_channel(hub: Hub, account_name: str, read: Callable[[Connector], Iterable[Any]],
                 progress: Progress | None) -> tuple[tables.Account, list[Any], int]:
    """Everything `read(connector)` yields for the account, before any transaction opens; also
    how many records the connector skipped."""
    with hub.db.session() as session:
        account = get_account(session, account_name)
    connector = hub.connector(account)
    try:
        return account, read_all(read(connector), progress), len(connector.skipped)
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


def upsert_product(session: Session, product: canonical.Product, counts: dict[str, int]) -> set[int]:
    """Create or update one product and its variants by SKU; returns the variant ids touched."""
    skus = [v.sku for v in product.variants]
    existing = {v.sku: v for v in session.scalars(select(tables.Variant).where(tables.Variant.sku.in_(skus)))}
    row = session.get(tables.Product, next(iter(existing.values())).product_id) if existing else None
    if row is None:
        row = tables.Product(**product_values(product))
        session.add(row)
        session.flush()
        counts["products_created"] += 1
    elif _set(row, product_values(product)):
        counts["products_updated"] += 1
    touched = set()
    for variant in product.variants:
        values = {**variant_values(variant), "product_id": row.id}
        found = existing.get(variant.sku)
        if found is None:
            found = tables.Variant(sku=variant.sku, **values)
            session.add(found)
            counts["variants_created"] += 1
        elif _set(found, values):
            counts["variants_updated"] += 1
        session.flush()
        touched.add(found.id)
    return touched


def import_catalog(hub: Hub, account_name: str, *, actor: str = "marketsync",
                   progress: Progress | None = None) -> dict[str, int]:
    """Build or update the catalogue from `account_name`, then refresh its listings."""
    _, products, skipped = read_channel(hub, account_name, lambda connector: connector.products(), progress)
    counts = {"products": len(products), "products_created": 0, "products_updated": 0, "variants_created": 0,
              "variants_updated": 0, "skipped": skipped}
    with hub.db.session() as session:
        for product in products:
            if product.variants:
                upsert_product(session, product, counts)
        audit(session, actor, "catalog.import", f"account:{account_name}", dict(counts))
    refreshed = refresh_listings(hub, account_name, actor=actor)
    return {**counts, **{f"listings_{k}": v for k, v in refreshed.items()}}


# ---- listings ----------------------------------------------------------------------------------
def refresh_listings(hub: Hub, account_name: str, *, actor: str = "marketsync",
                     progress: Progress | None = None) -> dict[str, int]:
    """Upsert `account_name`'s listings, match them to variants and keep its conflicts current."""
    account, listings, skipped = read_channel(hub, account_name, lambda connector: connector.listings(), progress)
    with hub.db.session() as session:
        row = session.get(tables.Account, account.id)
        assert row is not None
        applied = apply_listings(session, row, listings, normalised=hub.settings.mapping.normalised_sku, actor=actor)
    linking.schedule(hub, applied.accounts)
    return {**applied.counts(), "skipped": skipped}


# ---- jobs --------------------------------------------------------------------------------------
def _run(kind: str, account_id: int, work: Callable[[Hub, str], dict[str, int]]) -> dict[str, int]:
    """Run `work` for an account, recorded as a sync run (counts, or the error)."""
    hub = current_hub()
    with hub.db.session() as session:
        name = get_account_by_id(session, account_id, doing=kind).name
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


def import_catalog_job(account_id: int) -> dict[str, int]:
    """Job: import the catalogue from an account (catalog queue)."""
    return _run("catalog_import", account_id, lambda hub, name: import_catalog(hub, name))


def refresh_listings_job(account_id: int) -> dict[str, int]:
    """Job: refresh an account's listings (catalog queue)."""
    return _run("listing_refresh", account_id, lambda hub, name: refresh_listings(hub, name))


def enqueue(hub: Hub, function: str, job_id: str, *args: Any) -> str:
    """Put a catalogue job on the catalog queue once: a queued or running job with the id absorbs it."""
    enqueue_unique(hub.redis, CATALOG_QUEUE, function, args, job_id, timeout=hub.settings.workers.job_timeout_s)
    return job_id


def enqueue_refresh(hub: Hub, account_id: int) -> str:
    return enqueue(hub, "sync.catalog.refresh_listings_job", f"refresh-listings-{account_id}", account_id)


def enqueue_import(hub: Hub, account_id: int) -> str:
    return enqueue(hub, "sync.catalog.import_catalog_job", f"import-catalog-{account_id}", account_id)


def money_text(amount: Decimal | None, currency: str | None) -> str:
    return "" if amount is None else f"{amount} {currency or ''}".strip()
