"""Shipments: CSV import, fulfilment-source matching, push retry schedule (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import canonical
from connectors.base import ShipmentPush
from sandbox.catalogue import SeedSpec
from sandbox.shopify import ShopifySandbox
from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from store.settings import load_settings
from sync.catalog.importing import import_catalog
from sync.hub.accounts import add_account, get_account
from sync.hub.context import Hub
from sync.orders import shipment_queue
from sync.orders.polling import poll_orders
from sync.orders.shipment_import import apply_source_shipments, import_csv, import_from_source
from sync.orders.shipments import due_for_push
from sync.service.workers import make_worker
from tests.sync.order_world import ingest, levels, order, shop_fixture  # noqa: F401 - fixtures

TWO_LINES = (("1", "A-1", 3), ("2", "A-2", 2))


def test_csv_import_applies_valid_rows_reports_bad_ones_and_reruns_as_a_no_op(
        hub: Hub, shop: dict[str, Any], tmp_path: Path) -> None:
    ingest(hub, order(lines=TWO_LINES))
    path = tmp_path / "ship.csv"
    path.write_text("order,sku,quantity,carrier,tracking,url\n"
                    "woo:500,A-1,2,UPS,1Z1,https://t.example/1Z1\n"
                    "woo:500,A-2,1,UPS,1Z1,\n"
                    "woo:500,A-1,x,UPS,1Z2,\n"
                    "woo:999,A-1,1,UPS,1Z3,\n"
                    "#500,A-2,5,DHL,JD9,\n")
    report = import_csv(hub, path, actor="test")
    assert len(report.created) == 1 and not report.unchanged
    assert report.errors[0].startswith("line 4: quantity 'x'")
    assert report.errors[1].startswith("line 5: ") and "no order" in report.errors[1]
    assert report.errors[2].startswith("line 6: cannot ship 5 of A-2") and "1 shipped and 0 cancelled of 2" \
        in report.errors[2]
    assert levels(hub, shop, "A-1") == (8, 1) and levels(hub, shop, "A-2") == (9, 1)
    again = import_csv(hub, path, actor="test")
    assert not again.created and len(again.unchanged) == 1
    assert levels(hub, shop, "A-1") == (8, 1)
    with hub.db.session() as session:
        assert session.scalar(select(func.count()).select_from(tables.Shipment)) == 1


def test_a_fulfilment_source_shipment_lands_on_the_origin_order(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order(lines=TWO_LINES))
    add_account(hub, "woocommerce", "warehouse", {"url": "http://127.0.0.1:9"},
                {"consumer_key": "ck", "consumer_secret": "cs"}, actor="test")
    reported = canonical.Shipment(order_external_id="#500", carrier="GLS", tracking_number="GLS-1",
                                  lines=(canonical.ShipmentLine(order_line_external_id="w-1", sku="A-2", quantity=2),))
    report = apply_source_shipments(hub, "warehouse", [reported, reported])
    assert len(report.created) == 1 and len(report.unchanged) == 1 and not report.errors
    assert levels(hub, shop, "A-2") == (8, 0)
    with hub.db.session() as session:
        shipment = session.scalar(select(tables.Shipment))
        assert shipment is not None and shipment.source == "fulfilment:warehouse" and shipment.push_status == "pending"


def test_the_sweep_asks_one_drain_per_account_never_for_failed_or_refused_pushes(hub: Hub,
                                                                                 shop: dict[str, Any]) -> None:
    ingest(hub, order())
    from tests.sync.order_world import ship

    shipment = ship(hub, None)
    assert shipment_queue.sweep(hub) == 1  # one drain job for the account's pending shipments
    assert shipment_queue.sweep(hub) == 0  # the queued drain absorbs the next sweeps
    hub.redis.flushdb()  # the queued job is lost with Redis: the next sweep queues another at once
    assert shipment_queue.sweep(hub) == 1
    with hub.db.session() as session:
        assert due_for_push(session) == [shipment.id]
    for status in ("failed", "rejected"):
        hub.redis.flushdb()
        with hub.db.session() as session:
            row = session.get(tables.Shipment, shipment.id)
            assert row is not None
            row.push_status = status
        assert shipment_queue.sweep(hub) == 0  # its attempts are used up, or the channel refused it
        with hub.db.session() as session:
            assert due_for_push(session) == []
            assert due_for_push(session, now_forced=True) == ([shipment.id] if status == "failed" else [])


# ---- end to end: a Shopify fulfilment source ships a WooCommerce order ---------------------------
CATALOGUE = SeedSpec(products=2, variants=1, stock=20, seed=3)


@pytest.fixture(scope="module")
def woo_origin() -> Iterator[WooCommerceSandbox]:
    sandbox = WooCommerceSandbox(spec=CATALOGUE).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def shopify_source() -> Iterator[ShopifySandbox]:
    sandbox = ShopifySandbox(spec=CATALOGUE).start()
    yield sandbox
    sandbox.stop()


def run_jobs(hub: Hub) -> None:
    """Every queued job, in this process (a forked work horse must not share pooled connections)."""
    make_worker(hub.redis).work(burst=True, logging_level="WARNING", with_scheduler=False)


@pytest.mark.slow
def test_a_shopify_fulfilment_source_ships_a_woocommerce_order_once(
        hub: Hub, woo_origin: WooCommerceSandbox, shopify_source: ShopifySandbox,
        monkeypatch: pytest.MonkeyPatch) -> None:
    woo_origin.seed(CATALOGUE)
    shopify_source.seed(CATALOGUE)
    monkeypatch.setenv("MARKETSYNC_ACCOUNTS__WAREHOUSE__FULFILMENT_SOURCE", "true")
    hub.settings = load_settings()
    add_account(hub, "woocommerce", "woo", {"url": woo_origin.url},
                {"consumer_key": woo_origin.consumer_key, "consumer_secret": woo_origin.consumer_secret},
                actor="test")
    add_account(hub, "shopify", "warehouse", {"shop": shopify_source.shop_domain, "base_url": shopify_source.url},
                {"access_token": shopify_source.access_token}, actor="test")
    import_catalog(hub, "woo")
    origin = woo_origin.place_order([{"sku": "MS-0001-1", "quantity": 2}])
    with hub.db.session() as session:
        woo_id, warehouse = get_account(session, "woo").id, get_account(session, "warehouse")
    poll_orders(hub, woo_id)

    # The warehouse's order carries the origin order's number as its name (`#N`).
    with shopify_source.store.lock:
        shopify_source.store.next_order_number = int(origin["number"])
    source = shopify_source.place_order([{"sku": "MS-0001-1", "quantity": 2}])
    connector = hub.connector(warehouse)
    line = connector.order(source["admin_graphql_api_id"]).lines[0]
    connector.push_shipment(ShipmentPush("warehouse-1", source["admin_graphql_api_id"], "DHL", "JD-77",
                                         "https://dhl.example/JD-77", ((line.external_id, 2),)))
    connector.close()

    report = import_from_source(hub, "warehouse")
    assert len(report.created) == 1 and not report.errors, report.as_dict()
    with hub.db.session() as session:
        shipment = session.get(tables.Shipment, report.created[0])
        order = session.get(tables.Order, shipment.order_id) if shipment else None
        assert shipment is not None and order is not None
        assert (order.account_id, order.external_id) == (woo_id, str(origin["id"]))
        assert (shipment.source, shipment.push_status) == ("fulfilment:warehouse", "pending")
    run_jobs(hub)
    assert [t["tracking_number"] for t in woo_origin.trackings(origin["id"])] == ["JD-77"]

    again = import_from_source(hub, "warehouse")
    assert again.as_dict() == {"created": 0, "unchanged": 1, "errors": []}
    run_jobs(hub)
    assert [t["tracking_number"] for t in woo_origin.trackings(origin["id"])] == ["JD-77"]
    with hub.db.session() as session:
        assert session.scalar(select(func.count()).select_from(tables.Shipment)) == 1
        pushed = session.get(tables.Shipment, report.created[0])
        assert pushed is not None and pushed.push_status == "pushed"


def test_a_sources_bare_number_is_an_order_number_never_a_hub_id(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order(lines=TWO_LINES))  # hub id 1, number #500
    add_account(hub, "woocommerce", "warehouse", {"url": "http://127.0.0.1:9"},
                {"consumer_key": "ck", "consumer_secret": "cs"}, actor="test")

    def reported(reference: str) -> canonical.Shipment:
        return canonical.Shipment(order_external_id="77", order_reference=reference, carrier="GLS",
                                  tracking_number="GLS-2", lines=(canonical.ShipmentLine(
                                      order_line_external_id="w-1", sku="A-1", quantity=1),))

    missed = apply_source_shipments(hub, "warehouse", [reported("1")])
    assert not missed.created and "'1' matches no order" in missed.errors[0]
    matched = apply_source_shipments(hub, "warehouse", [reported("500")])
    assert len(matched.created) == 1 and not matched.errors
