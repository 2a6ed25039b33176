"""Shipments: CSV import, fulfilment-source matching, push retry schedule (both databases)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

import canonical
from store import tables
from store.types import utcnow
from sync.accounts import add_account
from sync.context import Hub
from sync.shipment_import import apply_source_shipments, import_csv
from sync.shipments import backoff, due_for_push
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


def test_failed_pushes_wait_with_growing_backoff(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order())
    from tests.sync.order_world import ship

    shipment = ship(hub, None)
    with hub.db.session() as session:
        row = session.get(tables.Shipment, shipment.id)
        assert row is not None
        assert due_for_push(session) == []  # just created: its job is still queued
        row.push_status, row.push_attempts, row.updated_at = "failed", 3, utcnow() - timedelta(seconds=100)
    with hub.db.session() as session:
        assert due_for_push(session) == []  # third attempt waits 120 s
        row = session.get(tables.Shipment, shipment.id)
        assert row is not None
        row.updated_at = utcnow() - timedelta(seconds=130)
    with hub.db.session() as session:
        assert due_for_push(session) == [shipment.id]
    assert backoff(1) == timedelta(seconds=30) and backoff(20) == timedelta(hours=1)
