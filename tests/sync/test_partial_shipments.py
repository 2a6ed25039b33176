"""A second partial shipment under the same tracking number reaches the channel as its own fulfilment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bench.harness import connect_shopify, link_listings
from sandbox.catalogue import SeedSpec
from sandbox.shopify import ShopifySandbox
from store import tables
from sync.hub.context import Hub
from sync.orders.polling import poll_orders
from sync.orders.shipment_push import push_shipment
from sync.orders.shipments import create_shipment
from sync.stock.change import stock_change
from sync.stock.operations import import_stock


@pytest.fixture
def shopify() -> Iterator[ShopifySandbox]:
    with ShopifySandbox(spec=SeedSpec(products=1, variants=1, stock=20, seed=5)) as sandbox:
        yield sandbox


def ship(hub: Hub, tracking: str, quantity: int) -> int:
    with stock_change(hub) as change:
        order = change.session.scalar(select(tables.Order))
        line = change.session.scalar(select(tables.OrderLine))
        assert order is not None and line is not None
        shipment, created = create_shipment(change, order, [(line, quantity)], carrier="UPS", tracking=tracking,
                                            url=None, source="test")
        assert created
        shipment_id = shipment.id
    assert push_shipment(hub, shipment_id) == "pushed"
    return shipment_id


def test_a_second_partial_shipment_reusing_a_tracking_number_is_fulfilled_on_the_channel(
        hub: Hub, shopify: ShopifySandbox) -> None:
    account_id = connect_shopify(hub, shopify)
    link_listings(hub, "shop")
    import_stock(hub, "shop")
    placed = shopify.place_order([{"sku": "MS-0001-1", "quantity": 3}])
    poll_orders(hub, account_id)
    first, second = ship(hub, "1Z-BOX", 1), ship(hub, "1Z-BOX", 2)  # one parcel number, two trips
    with hub.db.session() as session:
        ids = [session.get(tables.Shipment, s).external_id for s in (first, second)]  # type: ignore[union-attr]
    assert ids[0] and ids[1] and ids[0] != ids[1]
    order = shopify.store.orders[int(placed["id"])]
    assert sum(item.fulfilled for item in order.line_items) == 3 and order.fulfillment_status() == "FULFILLED"
    assert len(order.fulfillment_ids) == 2
