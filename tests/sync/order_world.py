"""Shared order-test helpers: a WooCommerce account with two mapped listings, canonical orders, shipping."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import canonical
from canonical import OrderStatus
from store import tables
from sync.hub.accounts import add_account, get_account
from sync.hub.context import Hub
from sync.orders.ingest import ingest_order
from sync.orders.shipments import create_shipment
from sync.stock.change import StockChange
from sync.stock.ledger import Movement, level
from sync.stock.locations import hub_location

# Orders are placed well after any account a test connects (a whole run can take minutes: an
# order placed before its account was connected would be a history order that moves no stock).
LATER = datetime.now(UTC) + timedelta(hours=6)


@pytest.fixture(name="shop")
def shop_fixture(hub: Hub) -> dict[str, Any]:
    """A WooCommerce account with two mapped listings (variants A-1, A-2) and 10 on hand each."""
    account = add_account(hub, "woocommerce", "woo", {"url": "http://127.0.0.1:9"},
                          {"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "whsec"}, actor="test")
    with hub.db.session() as session:
        product = tables.Product(title="Shirt")
        session.add(product)
        session.flush()
        ids = {}
        for n, sku in enumerate(("A-1", "A-2"), start=1):
            variant = tables.Variant(product_id=product.id, sku=sku)
            session.add(variant)
            session.flush()
            session.add(tables.Listing(account_id=account.id, variant_id=variant.id, external_product_id="10",
                                       external_variant_id=str(100 + n), channel_sku=sku))
            ids[sku] = variant.id
        location = hub_location(session).id
        change = StockChange(session, hub.settings)
        for variant_id in ids.values():
            change.move(Movement(f"adjust:{variant_id}", variant_id, location, on_hand_delta=10))
        change.settle()
    return {"account_id": account.id, "variants": ids, "location": location}


def order(status: OrderStatus = OrderStatus.OPEN, *, minutes: int = 0, lines: tuple[tuple[str, str, int], ...] = (
        ("1", "A-1", 3),), cancelled: dict[str, int] | None = None, refunds: tuple[canonical.Refund, ...] = (),
        external_id: str = "500", placed: datetime | None = None) -> canonical.Order:
    cancelled = cancelled or {}
    variant_ids = {"A-1": "101", "A-2": "102"}
    return canonical.Order(
        account="woo", external_id=external_id, number=f"#{external_id}", status=status, currency="EUR",
        lines=tuple(canonical.OrderLine(external_id=line_id, sku=sku, external_variant_id=variant_ids.get(sku),
                                        quantity=qty, cancelled_quantity=cancelled.get(line_id, 0))
                    for line_id, sku, qty in lines),
        refunds=refunds, customer=canonical.Customer(name="Ada Buyer", email="ada@example.com", country="FR"),
        placed_at=placed or LATER, updated_at=LATER + timedelta(minutes=minutes))


def ingest(hub: Hub, data: canonical.Order) -> Any:
    with hub.db.session() as session:
        change = StockChange(session, hub.settings)
        result = ingest_order(change, get_account(session, "woo"), data, box=hub.secret_box, source="test")
        change.settle()
        return result


def levels(hub: Hub, shop: dict[str, Any], sku: str = "A-1") -> tuple[int, int]:
    with hub.db.session() as session:
        return level(session, shop["variants"][sku], shop["location"])


def ship(hub: Hub, items: dict[str, int] | None, tracking: str = "TRK1") -> tables.Shipment:
    with hub.db.session() as session:
        change = StockChange(session, hub.settings)
        row = session.scalar(select(tables.Order))
        assert row is not None
        lines = {line.sku: line for line in session.scalars(select(tables.OrderLine))}
        wanted = None if items is None else [(lines[sku], qty) for sku, qty in items.items()]
        shipment, _ = create_shipment(change, row, wanted, carrier="UPS", tracking=tracking, url=None, source="test")
        return shipment


ROOT = Path(__file__).resolve().parents[2]


def kill_when_marked(code: str, args: list[str], marker: Path, not_reached: str) -> None:
    """Run `code` in a process of its own until it writes `marker`, then SIGKILL it (and its
    children): a worker dying mid-job. `not_reached` is the failure if it exits or takes a minute."""
    doomed = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=dict(os.environ),
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert doomed.poll() is None and time.monotonic() < deadline, not_reached
            time.sleep(0.05)
    finally:
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
