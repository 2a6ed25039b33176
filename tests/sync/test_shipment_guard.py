"""A shipment of an order cancelled on the channel before the push becomes a conflict (finding 10).

Against the Shopify simulator (both databases): the cancel happened on the channel and its event
waits unprocessed (a backlog), or no event came at all and the channel refuses the fulfilment.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from mapping.conflicts import ConflictKind
from sandbox.catalogue import SeedSpec
from sandbox.shopify import ShopifySandbox
from store import tables
from store.types import utcnow
from sync.catalog.importing import import_catalog
from sync.hub.accounts import add_account
from sync.hub.context import Hub
from sync.orders.polling import poll_orders
from sync.orders.shipment_push import push_shipment
from sync.orders.shipments import create_shipment, due_for_push
from sync.stock.change import stock_change

CATALOGUE = SeedSpec(products=1, variants=1, stock=20, seed=5)


@pytest.fixture(scope="module")
def shopify() -> Iterator[ShopifySandbox]:
    sandbox = ShopifySandbox(spec=CATALOGUE).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def placed(hub: Hub, shopify: ShopifySandbox) -> dict[str, Any]:
    """An order placed on the channel, read by the hub, and a hub shipment of it waiting to be pushed."""
    shopify.seed(CATALOGUE)
    account = add_account(hub, "shopify", "shop", {"shop": shopify.shop_domain, "base_url": shopify.url},
                          {"access_token": shopify.access_token}, actor="test")
    import_catalog(hub, "shop")
    order = shopify.place_order([{"sku": "MS-0001-1", "quantity": 2}])
    poll_orders(hub, account.id)
    with stock_change(hub) as change:
        row = change.session.scalar(select(tables.Order).where(
            tables.Order.external_id == order["admin_graphql_api_id"]))
        assert row is not None and row.status == "open"
        shipment, _ = create_shipment(change, row, None, carrier="UPS", tracking="1Z999", url=None, source="test")
        return {"account": account.id, "order": order, "shipment": shipment.id}


def backlog_event(hub: Hub, placed: dict[str, Any]) -> None:
    """The channel's cancel event, stored by `serve` and still waiting for a worker."""
    with hub.db.session() as session:
        session.add(tables.WebhookEvent(platform="shopify", event_id="cancel-1", account_id=placed["account"],
                                        topic="orders/cancelled", payload="{}", status="received",
                                        order_reference=placed["order"]["admin_graphql_api_id"],
                                        received_at=utcnow()))


def assert_held_as_conflict(hub: Hub, shopify: ShopifySandbox, placed: dict[str, Any]) -> None:
    with hub.db.session() as session:
        shipment = session.get(tables.Shipment, placed["shipment"])
        order = session.get(tables.Order, shipment.order_id) if shipment else None
        assert shipment is not None and order is not None
        assert shipment.push_status == "conflict" and shipment.push_attempts == 1
        assert shipment.push_error and "cancelled on the channel before this shipment" in shipment.push_error
        assert order.status == "cancelled"
        conflict = session.scalar(select(tables.Conflict).where(tables.Conflict.subject == f"shipment:{shipment.id}"))
        assert conflict is not None and conflict.kind == ConflictKind.CANCELLED_BEFORE_SHIPMENT
        assert conflict.status == "open" and "stock adjust" in conflict.suggestions[0]
        assert placed["shipment"] not in due_for_push(session, now_forced=True)  # no retry loop
    assert not shopify.store.orders[int(placed["order"]["id"])].fulfillment_ids


def test_a_cancel_still_in_the_backlog_is_read_before_the_push(hub: Hub, shopify: ShopifySandbox,
                                                               placed: dict[str, Any]) -> None:
    shopify.cancel_order(placed["order"]["id"])
    backlog_event(hub, placed)
    assert push_shipment(hub, placed["shipment"]) == "conflict"
    assert_held_as_conflict(hub, shopify, placed)
    assert push_shipment(hub, placed["shipment"]) == "conflict"  # a stray rerun changes nothing
    with hub.db.session() as session:
        shipment = session.get(tables.Shipment, placed["shipment"])
        assert shipment is not None and shipment.push_attempts == 1


def test_a_refused_push_rereads_the_order_and_finds_it_cancelled(hub: Hub, shopify: ShopifySandbox,
                                                                 placed: dict[str, Any]) -> None:
    shopify.cancel_order(placed["order"]["id"])  # no event at all: the channel's refusal tells
    assert push_shipment(hub, placed["shipment"]) == "conflict"
    assert_held_as_conflict(hub, shopify, placed)


def test_a_newer_event_about_an_open_order_rereads_and_pushes(hub: Hub, shopify: ShopifySandbox,
                                                              placed: dict[str, Any]) -> None:
    backlog_event(hub, placed)
    assert push_shipment(hub, placed["shipment"]) == "pushed"
    with hub.db.session() as session:
        order = session.scalar(select(tables.Order))
        event = session.scalar(select(tables.WebhookEvent))
        assert order is not None and event is not None
        assert order.channel_state["fetched_at"] > event.received_at.isoformat()  # read again before pushing
    assert len(shopify.store.orders[int(placed["order"]["id"])].fulfillment_ids) == 1


def test_a_newer_event_already_processed_pushes_without_reading_the_order_again(
        hub: Hub, shopify: ShopifySandbox, placed: dict[str, Any]) -> None:
    """Issue 15 (chaos): every shipment whose order had an event (a duplicate, a late update) newer than
    the last poll read the order again before its push, though that event was in the hub already."""
    backlog_event(hub, placed)
    with hub.db.session() as session:
        event = session.scalar(select(tables.WebhookEvent))
        order = session.scalar(select(tables.Order))
        assert event is not None and order is not None
        event.status = "processed"  # its order was ingested from the body it carried
        fetched = order.channel_state["fetched_at"]
        assert fetched < event.received_at.isoformat()
    assert push_shipment(hub, placed["shipment"]) == "pushed"
    with hub.db.session() as session:
        order = session.scalar(select(tables.Order))
        assert order is not None and order.channel_state["fetched_at"] == fetched  # not read again
    assert len(shopify.store.orders[int(placed["order"]["id"])].fulfillment_ids) == 1
