"""Wiring a hub to simulators: shared by the benchmarks and the end-to-end tests.

`connect_woocommerce` / `connect_shopify` add an account for a running simulator;
`link_listings` brings the account's catalogue and listings into the hub, mapped to variants
by SKU (the catalogue engine's `sync.catalog.import_catalog` when it is installed, else a
plain SKU match that creates the products it needs).
"""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import select

from store import tables
from store.types import utcnow
from sync.accounts import add_account
from sync.context import Hub
from sync.locations import channel_location


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
    catalog = _catalog_module()
    if catalog is not None:
        catalog.import_catalog(hub, name)
    else:
        _link_by_sku(hub, name)
    with hub.db.session() as session:
        account = session.scalar(select(tables.Account).where(tables.Account.name == name))
        assert account is not None
        return len(session.scalars(select(tables.Listing.id).where(
            tables.Listing.account_id == account.id, tables.Listing.variant_id.is_not(None))).all())


def _catalog_module() -> Any:
    try:
        module = importlib.import_module("sync.catalog")
    except ModuleNotFoundError:
        return None
    return module if hasattr(module, "import_catalog") else None


def _link_by_sku(hub: Hub, name: str) -> None:
    with hub.db.session() as session:
        account = session.scalar(select(tables.Account).where(tables.Account.name == name))
        assert account is not None
    connector = hub.connector(account, shared_budget=False)
    try:
        listings = list(connector.listings())
        locations = [loc.external_id for loc in connector.locations() if loc.active]
    finally:
        connector.close()
    with hub.db.session() as session:
        for external_id in locations[:1]:
            channel_location(session, account.id, external_id)
        variants = dict(session.execute(select(tables.Variant.sku, tables.Variant.id)).all())
        for item in listings:
            if not item.sku:
                continue
            if item.sku not in variants:
                product = tables.Product(title=item.product_title or item.title)
                session.add(product)
                session.flush()
                variant = tables.Variant(product_id=product.id, sku=item.sku, barcode=item.barcode)
                session.add(variant)
                session.flush()
                variants[item.sku] = variant.id
            session.add(tables.Listing(
                account_id=account.id, variant_id=variants[item.sku], external_product_id=item.external_product_id,
                external_variant_id=item.external_variant_id,
                external_inventory_item_id=item.external_inventory_item_id, channel_sku=item.sku,
                channel_barcode=item.barcode, title=item.title, acknowledged_quantity=item.quantity,
                acknowledged_at=utcnow() if item.quantity is not None else None))
