"""Orders end to end: WooCommerce simulator → signed webhooks → `marketsync serve` app → RQ worker →
ledger, plus polling and shipment pushes, over real HTTP on loopback, real Redis, both databases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from sandbox.catalogue import SeedSpec
from sandbox.runtime import ServerThread, free_port
from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from sync.catalog.importing import import_catalog
from sync.hub.accounts import add_account
from sync.hub.context import Hub
from sync.orders.polling import poll_orders
from sync.orders.shipment_queue import enqueue_push, push_now
from sync.orders.shipments import create_shipment
from sync.service.webserver import build_app
from sync.service.workers import make_worker
from sync.stock.change import StockChange, stock_change
from sync.stock.ledger import level
from sync.stock.locations import hub_location
from sync.stock.operations import import_stock


@pytest.fixture(scope="module")
def woo() -> Iterator[WooCommerceSandbox]:
    sandbox = WooCommerceSandbox(seed=3, spec=SeedSpec(products=2, variants=1, stock=20)).start()
    sandbox.faults.timeout_seconds = 1.0
    yield sandbox
    sandbox.stop()


@pytest.fixture
def shop(hub: Hub, woo: WooCommerceSandbox) -> Iterator[dict[str, Any]]:
    """The hub connected to a freshly seeded store, catalogue and stock imported, webhooks registered."""
    woo.seed(SeedSpec(products=2, variants=1, stock=20, seed=3))
    woo.faults.configure({"latency_ms": 0})
    add_account(hub, "woocommerce", "woo", {"url": woo.url},
                {"consumer_key": woo.consumer_key, "consumer_secret": woo.consumer_secret, "webhook_secret": "whsec"},
                actor="test")
    import_catalog(hub, "woo")
    import_stock(hub, "woo")
    server = ServerThread(build_app(hub), free_port()).start()
    with hub.db.session() as session:
        account = session.scalar(select(tables.Account))
        assert account is not None
    connector = hub.connector(account)
    connector.register_webhooks(f"{server.url}/webhooks/woocommerce/woo")
    connector.close()
    yield {"server": server, "account_id": account.id}
    server.stop()


def work(hub: Hub, woo: WooCommerceSandbox) -> None:
    """Deliver the store's webhooks, then run every queued job in this process (no fork: the test
    process holds pooled database connections a forked work horse must not share)."""
    woo.flush_webhooks()
    make_worker(hub.redis).work(burst=True, logging_level="WARNING", with_scheduler=False)


def levels(hub: Hub, sku: str) -> tuple[int, int]:
    with hub.db.session() as session:
        variant = session.scalar(select(tables.Variant).where(tables.Variant.sku == sku))
        assert variant is not None
        return level(session, variant.id, hub_location(session).id)


def count(hub: Hub, table: Any) -> int:
    with hub.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_webhook_and_poll_of_one_order_count_once(hub: Hub, woo: WooCommerceSandbox, shop: dict[str, Any]) -> None:
    woo.configure({"duplicate_webhooks": 1.0})
    try:
        placed = woo.place_order([{"sku": "MS-0001-1", "quantity": 2}])
        work(hub, woo)
    finally:
        woo.configure({"duplicate_webhooks": 0.0})
    assert levels(hub, "MS-0001-1") == (20, 2)
    poll_orders(hub, shop["account_id"])
    poll_orders(hub, shop["account_id"])
    assert levels(hub, "MS-0001-1") == (20, 2)
    assert count(hub, tables.Order) == 1
    with hub.db.session() as session:
        statuses = session.scalars(select(tables.WebhookEvent.status)
                                   .where(tables.WebhookEvent.topic.like("order.%"))).all()
        order = session.scalar(select(tables.Order))
        assert order is not None and order.external_id == str(placed["id"])
    assert statuses and set(statuses) == {"processed"}


def test_an_order_webhook_is_ingested_from_its_body_without_a_read(hub: Hub, woo: WooCommerceSandbox,
                                                                     shop: dict[str, Any]) -> None:
    woo.requests.reset()
    placed = woo.place_order([{"sku": "MS-0002-1", "quantity": 3}], customer={"email": "ada@example.com"})
    work(hub, woo)
    assert levels(hub, "MS-0002-1") == (20, 3)
    reads = [route for route in woo.requests.as_dict()["by_route"] if route.startswith("GET orders/")]
    assert reads == [], reads  # the body was the order: no GET orders/{id}
    with hub.db.session() as session:
        payloads = session.scalars(select(tables.WebhookEvent.payload)
                                   .where(tables.WebhookEvent.order_reference == str(placed["id"]))).all()
    assert payloads and all("carried_order" not in p and "ada@example.com" not in p for p in payloads)
    woo.refund_order(placed["id"], lines=[{"sku": "MS-0002-1", "quantity": 1}], restock=True)
    work(hub, woo)  # a body with refunds needs their lines: this one is read from the store
    assert levels(hub, "MS-0002-1") == (20, 2)
    assert any(route.startswith("GET orders/") for route in woo.requests.as_dict()["by_route"])


def test_cancel_after_partial_shipment_releases_only_the_rest(hub: Hub, woo: WooCommerceSandbox,
                                                              shop: dict[str, Any]) -> None:
    placed = woo.place_order([{"sku": "MS-0001-1", "quantity": 3}])
    work(hub, woo)
    with hub.db.session() as session:
        order = session.scalar(select(tables.Order))
        assert order is not None
        shipment, _ = create_shipment(StockChange(session, hub.settings), order,
                                      [(session.scalars(select(tables.OrderLine)).one(), 1)],
                                      carrier="UPS", tracking="1Z001", url=None, source="test")
        shipment_id = shipment.id
    enqueue_push(hub, shipment_id)
    work(hub, woo)
    assert levels(hub, "MS-0001-1") == (19, 2)
    assert [t["tracking_number"] for t in woo.trackings(placed["id"])] == ["1Z001"]
    woo.cancel_order(placed["id"])
    work(hub, woo)
    assert levels(hub, "MS-0001-1") == (19, 0)
    with hub.db.session() as session:
        pushed = session.get(tables.Shipment, shipment_id)
        assert pushed is not None and pushed.push_status == "pushed" and pushed.external_id


def test_a_push_retried_after_a_timeout_leaves_one_tracking(hub: Hub, woo: WooCommerceSandbox,
                                                             shop: dict[str, Any]) -> None:
    placed = woo.place_order([{"sku": "MS-0002-1", "quantity": 1}])
    work(hub, woo)
    with hub.db.session() as session:
        order = session.scalar(select(tables.Order))
        assert order is not None
        shipment, _ = create_shipment(StockChange(session, hub.settings), order, None, carrier="DHL",
                                      tracking="JD0002", url=None, source="test")
        shipment_id = shipment.id
    hub.settings.http.timeout_s = 0.5
    hub.settings.http.max_attempts = 1
    hub.settings.workers.retry_intervals_s = [0]  # one retry, at once
    woo.configure({"latency_ms": 700})  # applied on the channel, but the answers come too late
    enqueue_push(hub, shipment_id)
    work(hub, woo)  # the push times out: still pending, the account backs off (1 ms here)
    time.sleep(0.01)
    enqueue_push(hub, shipment_id)  # what the sweep asks once the backoff is over
    work(hub, woo)  # the retry times out too: more attempts than retry intervals
    with hub.db.session() as session:
        failed = session.get(tables.Shipment, shipment_id)
        assert failed is not None and failed.push_status == "failed" and failed.push_attempts == 2
        assert failed.push_error and "whsec" not in failed.push_error
    woo.configure({"latency_ms": 0})
    assert push_now(hub, [shipment_id]) == 1  # `marketsync ship push ID`
    work(hub, woo)
    assert [t["tracking_number"] for t in woo.trackings(placed["id"])] == ["JD0002"]
    with hub.db.session() as session:
        done = session.get(tables.Shipment, shipment_id)
        assert done is not None and done.push_status == "pushed" and done.push_attempts >= 3
    assert woo.order(placed["id"])["status"] == "completed"
    assert levels(hub, "MS-0002-1") == (19, 0)


def test_a_partial_refund_on_the_store_is_never_shipped_later(hub: Hub, woo: WooCommerceSandbox,
                                                             shop: dict[str, Any]) -> None:
    placed = woo.place_order([{"sku": "MS-0001-1", "quantity": 2}])
    work(hub, woo)
    woo.refund_order(placed["id"], lines=[{"sku": "MS-0001-1", "quantity": 1}], restock=False)
    work(hub, woo)
    poll_orders(hub, shop["account_id"])
    assert levels(hub, "MS-0001-1") == (20, 1)  # the refunded unit is released, the other still committed
    with stock_change(hub) as change:
        order = change.session.scalar(select(tables.Order))
        assert order is not None
        create_shipment(change, order, None, carrier="UPS", tracking="1Z777", url=None, source="test")
        assert [line.quantity for line in change.session.scalars(select(tables.ShipmentLine))] == [1]
    assert levels(hub, "MS-0001-1") == (19, 0)
