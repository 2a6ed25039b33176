"""Untracked items (gift cards, digital goods): never pushed, committed or shipped out of the ledger."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from sandbox.catalogue import SeedSpec
from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from sync.catalog.importing import import_catalog
from sync.hub.accounts import add_account
from sync.hub.context import Hub
from sync.orders.polling import poll_orders
from sync.orders.shipments import create_shipment
from sync.service.workers import make_worker
from sync.stock.change import stock_change
from sync.stock.operations import adjust, import_stock

GIFT_CARD = "MS-0002-1"


@pytest.fixture
def woo() -> Iterator[WooCommerceSandbox]:
    with WooCommerceSandbox(spec=SeedSpec(products=2, variants=1, stock=20, seed=3)) as sandbox:
        card = sandbox.store.by_sku(GIFT_CARD)
        card.manage_stock, card.stock_quantity = False, None
        yield sandbox


def work(hub: Hub) -> None:
    make_worker(hub.redis).work(burst=True, logging_level="WARNING", with_scheduler=False)


def movements(hub: Hub, sku: str) -> int:
    with hub.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(tables.StockMovement)
                                  .join(tables.Variant, tables.Variant.id == tables.StockMovement.variant_id)
                                  .where(tables.Variant.sku == sku)) or 0)


def test_an_untracked_item_is_never_committed_shipped_or_pushed(hub: Hub, woo: WooCommerceSandbox) -> None:
    account = add_account(hub, "woocommerce", "woo", {"url": woo.url},
                          {"consumer_key": woo.consumer_key, "consumer_secret": woo.consumer_secret}, actor="test")
    import_catalog(hub, "woo")
    import_stock(hub, "woo")
    with hub.db.session() as session:
        card = session.scalar(select(tables.Variant).where(tables.Variant.sku == GIFT_CARD))
        assert card is not None and card.tracked is False
    woo.place_order([{"sku": GIFT_CARD, "quantity": 2}, {"sku": "MS-0001-1", "quantity": 1}])
    poll_orders(hub, account.id)
    adjust(hub, GIFT_CARD, 5, "default", "a count by mistake", actor="test")  # even a movement pushes nothing
    work(hub)
    assert woo.stock(GIFT_CARD) is None  # stock management stays off on the channel
    assert woo.stock("MS-0001-1") == 19
    assert movements(hub, GIFT_CARD) == 1  # only the manual adjustment: no commit
    with stock_change(hub) as change:
        session = change.session
        order = session.scalar(select(tables.Order))
        assert order is not None
        create_shipment(change, order, None, carrier="UPS", tracking="1Z9", url=None, source="test")
        listing = session.scalar(select(tables.Listing).where(tables.Listing.channel_sku == GIFT_CARD))
        assert listing is not None and listing.tracked is False and not listing.push_pending
    assert movements(hub, GIFT_CARD) == 1  # shipping it moved nothing either
    with hub.db.session() as session:
        levels = {sku: (on_hand, committed) for sku, on_hand, committed in session.execute(
            select(tables.Variant.sku, tables.StockLevel.on_hand, tables.StockLevel.committed)
            .join(tables.StockLevel, tables.StockLevel.variant_id == tables.Variant.id))}
    assert levels[GIFT_CARD] == (5, 0) and levels["MS-0001-1"] == (19, 0)
