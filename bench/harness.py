"""Wiring a hub to simulators: shared by the benchmarks and the end-to-end tests.

`make_hub` builds a fresh hub in a scratch folder (a benchmark's own Redis db);
`connect_woocommerce` / `connect_shopify` add an account for a running simulator;
`link_listings` brings the account's catalogue and listings into the hub, mapped to variants
by SKU (`sync.catalog.importing.import_catalog`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import select

from store import tables
from store.settings import load_settings
from sync.catalog.importing import import_catalog
from sync.hub.accounts import add_account, get_account
from sync.hub.context import Hub


def make_hub(workdir: Path, redis_db: int) -> Hub:
    """A migrated hub in `workdir` (or on BENCH_DATABASE_URL); with REDIS_URL, its db `redis_db`, flushed."""
    os.environ["MARKETSYNC_HOME"] = str(workdir / "ws")
    os.environ["MARKETSYNC_DATABASE__URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir}/hub.db")
    if os.environ.get("REDIS_URL"):
        os.environ["MARKETSYNC_REDIS__URL"] = os.environ["REDIS_URL"].rstrip("/") + f"/{redis_db}"
    hub = Hub(load_settings())
    hub.workspace.secret_box(create=True)
    hub.db.upgrade()
    hub.redis.flushdb()
    return hub


def connect_woocommerce(hub: Hub, sandbox: Any, name: str = "woo") -> int:
    account = add_account(hub, "woocommerce", name, {"url": sandbox.url},
                          {"consumer_key": sandbox.consumer_key, "consumer_secret": sandbox.consumer_secret,
                           "webhook_secret": "whsec"}, actor="harness")
    return account.id


def connect_shopify(hub: Hub, sandbox: Any, name: str = "shop") -> int:
    """A Shopify account; its stock location is pinned (option location_id) so a push reads nothing."""
    options = {"shop": sandbox.shop_domain, "base_url": sandbox.url}
    account = add_account(hub, "shopify", name, options,
                          {"access_token": sandbox.access_token, "client_secret": sandbox.client_secret},
                          actor="harness")
    connector = hub.connector(account, shared_budget=False)
    try:
        location = next(loc.external_id for loc in connector.locations() if loc.active)
    finally:
        connector.close()
    with hub.db.session() as session:
        row = session.get(tables.Account, account.id)
        assert row is not None
        row.options = {**row.options, "location_id": location}
    return account.id


def link_listings(hub: Hub, name: str) -> int:
    """The account's listings in the hub, mapped by SKU; returns how many are mapped."""
    import_catalog(hub, name)
    with hub.db.session() as session:
        account = get_account(session, name)
        return len(session.scalars(select(tables.Listing.id).where(
            tables.Listing.account_id == account.id, tables.Listing.variant_id.is_not(None))).all())


def connect_both(hub: Hub, woo: Any, shop: Any) -> None:
    """WooCommerce account `woo` and Shopify account `shop`, listings linked, stock imported from
    WooCommerce, and every job that caused run to completion."""
    from sync.service.workers import run_worker
    from sync.stock.operations import import_stock

    connect_woocommerce(hub, woo, "woo")
    connect_shopify(hub, shop, "shop")
    link_listings(hub, "woo")
    link_listings(hub, "shop")
    import_stock(hub, "woo")
    run_worker(hub.redis, burst=True)
