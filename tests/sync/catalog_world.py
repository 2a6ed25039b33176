"""A two-channel world for catalogue tests: WooCommerce ("woo", the catalogue source) and Shopify
("shop", with deliberate problems), both real simulators on loopback seeded with shared SKUs.

The Shopify seed adds a listing no catalogue variant matches (`LOCAL-ONLY`) and one whose SKU
is unknown but whose barcode is MS-0002-2's (`ALT-CODE`). `make_problems` then changes the
Shopify shop through its Admin API: a case-different SKU, a duplicate SKU on the account and
a barcode pointing at another variant.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from canonical import Listing
from connectors.base import Connector
from sandbox.catalogue import SeedSpec, gtin13
from sandbox.shopify import ShopifySandbox
from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from sync.hub.accounts import add_account, get_account
from sync.hub.context import Hub

WOO_SPEC = SeedSpec(products=3, variants=2)
SHOP_SPEC = SeedSpec(products=3, variants=2, extra=({"sku": "LOCAL-ONLY", "title": "Local only", "price": "4.50"},
                                                     {"sku": "ALT-CODE", "barcode": gtin13(202)}))


@dataclass
class World:
    hub: Hub
    woo: WooCommerceSandbox
    shop: ShopifySandbox

    def connector(self, name: str) -> Connector:
        with self.hub.db.session() as session:
            account = get_account(session, name)
        return self.hub.connector(account, shared_budget=False)

    def channel_listing(self, name: str, sku: str) -> Listing:
        connector = self.connector(name)
        try:
            return next(item for item in connector.listings() if item.sku == sku)
        finally:
            connector.close()

    def edit(self, name: str, current_sku: str, /, **changes: Any) -> None:
        """Change a listing on the channel through its API (as a merchant's app would)."""
        connector = self.connector(name)
        try:
            listing = next(item for item in connector.listings() if item.sku == current_sku)
            connector.update_listing(listing, changes)
        finally:
            connector.close()

    def make_problems(self) -> None:
        self.edit("shop", "MS-0001-1", sku="ms-0001-1")            # case-different SKU
        self.edit("shop", "MS-0003-2", sku="MS-0003-1")            # duplicate SKU on one account
        self.edit("shop", "MS-0002-1", barcode=gtin13(301))        # barcode of MS-0003-1

    def conflicts(self, status: str = "open") -> list[tables.Conflict]:
        with self.hub.db.session() as session:
            return list(session.scalars(select(tables.Conflict).where(tables.Conflict.status == status)
                                        .order_by(tables.Conflict.id)))

    def kinds(self, status: str = "open") -> list[tuple[str, str | None]]:
        """(kind, channel SKU of its listing) for every conflict with `status`."""
        with self.hub.db.session() as session:
            rows = session.execute(select(tables.Conflict.kind, tables.Listing.channel_sku)
                                   .outerjoin(tables.Listing, tables.Listing.id == tables.Conflict.listing_id)
                                   .where(tables.Conflict.status == status).order_by(tables.Conflict.id))
            return sorted((kind, sku) for kind, sku in rows)

    def listing(self, account: str, sku: str) -> tables.Listing:
        with self.hub.db.session() as session:
            row = session.scalar(select(tables.Listing).join(tables.Account).where(
                tables.Account.name == account, tables.Listing.channel_sku == sku))
            assert row is not None, (account, sku)
            return row

    def variant_sku(self, listing: tables.Listing) -> str | None:
        with self.hub.db.session() as session:
            variant = session.get(tables.Variant, listing.variant_id) if listing.variant_id else None
            return variant.sku if variant else None


@pytest.fixture(scope="module", name="sandboxes")
def sandboxes_fixture() -> Iterator[tuple[WooCommerceSandbox, ShopifySandbox]]:
    with WooCommerceSandbox(spec=WOO_SPEC) as woo, ShopifySandbox(spec=SHOP_SPEC) as shop:
        yield woo, shop


@pytest.fixture(name="world")
def world_fixture(hub: Hub, sandboxes: tuple[WooCommerceSandbox, ShopifySandbox]) -> World:
    woo, shop = sandboxes
    woo.seed(WOO_SPEC)
    shop.seed(SHOP_SPEC)
    for log in (woo.writes, shop.writes):
        log.clear()
    add_account(hub, "woocommerce", "woo", {"url": woo.url},
                {"consumer_key": woo.consumer_key, "consumer_secret": woo.consumer_secret,
                 "webhook_secret": "whsec"}, actor="test")
    add_account(hub, "shopify", "shop", {"shop": shop.shop_domain, "base_url": shop.url},
                {"access_token": shop.access_token, "client_secret": shop.client_secret}, actor="test")
    hub.settings.accounts = {}
    return World(hub, woo, shop)
