"""Order ingestion against the real ledger on SQLite and PostgreSQL (canonical orders in, movements out)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

import canonical
from canonical import OrderStatus
from store import tables
from sync.context import Hub
from sync.order_ingest import release_held_lines
from sync.shipments import ShipmentError
from tests.sync.order_world import ingest, levels, order, ship, shop_fixture  # noqa: F401 - fixtures


def test_the_same_order_twice_commits_once(hub: Hub, shop: dict[str, Any]) -> None:
    first = ingest(hub, order())
    second = ingest(hub, order())
    assert first.created and not second.created
    assert levels(hub, shop) == (10, 3)
    with hub.db.session() as session:
        assert session.scalar(select(func.count()).select_from(tables.Order)) == 1
        stored = session.scalar(select(tables.Order))
        assert stored is not None and stored.customer_country == "FR"


def test_an_older_update_is_ignored(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order(OrderStatus.CANCELLED, minutes=2))
    result = ingest(hub, order(OrderStatus.OPEN, minutes=1))
    assert result.stale
    assert levels(hub, shop) == (10, 0)  # cancelled before it was ever seen open: nothing committed


def test_pending_commits_only_when_open(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order(OrderStatus.PENDING, minutes=1))
    assert levels(hub, shop) == (10, 0)
    ingest(hub, order(OrderStatus.OPEN, minutes=2))
    ingest(hub, order(OrderStatus.OPEN, minutes=3))
    assert levels(hub, shop) == (10, 3)


def test_partial_then_full_cancel_release_each_unit_once(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order())
    ingest(hub, order(minutes=1, cancelled={"1": 1}))
    assert levels(hub, shop) == (10, 2)
    ingest(hub, order(OrderStatus.CANCELLED, minutes=2, cancelled={"1": 1}))
    ingest(hub, order(OrderStatus.CANCELLED, minutes=3, cancelled={"1": 3}))
    assert levels(hub, shop) == (10, 0)


def test_partial_shipment_then_cancel_releases_only_the_rest(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order())
    ship(hub, {"A-1": 1})
    assert levels(hub, shop) == (9, 2)
    ingest(hub, order(OrderStatus.CANCELLED, minutes=1))
    assert levels(hub, shop) == (9, 0)
    with pytest.raises(ShipmentError, match="cancelled"):
        ship(hub, {"A-1": 1}, tracking="TRK2")


def test_over_shipment_is_refused_with_the_quantities(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order())
    ship(hub, {"A-1": 2})
    with pytest.raises(ShipmentError, match=r"cannot ship 2 of A-1 \(line 1\).*2 shipped and 0 cancelled of 3"):
        ship(hub, {"A-1": 2}, tracking="TRK2")
    again = ship(hub, {"A-1": 2})  # same order + tracking + lines: the stored shipment, no new movement
    assert again.tracking_number == "TRK1"
    assert levels(hub, shop) == (8, 1)


def test_refund_with_restock_puts_shipped_units_back(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order())
    ship(hub, None)
    assert levels(hub, shop) == (7, 0)
    refund = canonical.Refund(external_id="r1", lines=(canonical.RefundLine(line_external_id="1", quantity=2,
                                                                            restock=True),))
    ingest(hub, order(OrderStatus.COMPLETED, minutes=1, refunds=(refund,)))
    ingest(hub, order(OrderStatus.COMPLETED, minutes=2, refunds=(refund,)))
    assert levels(hub, shop) == (9, 0)


def test_refund_without_restock_moves_nothing_after_shipping(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order())
    ship(hub, None)
    refund = canonical.Refund(external_id="r1", lines=(canonical.RefundLine(line_external_id="1", quantity=3,
                                                                            restock=False),))
    ingest(hub, order(OrderStatus.REFUNDED, minutes=1, refunds=(refund,)))
    assert levels(hub, shop) == (7, 0)


def test_refund_of_an_unshipped_unit_releases_it_and_never_restocks_later(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order())
    refund = canonical.Refund(external_id="r1", lines=(canonical.RefundLine(line_external_id="1", quantity=1,
                                                                            restock=True),))
    ingest(hub, order(minutes=1, refunds=(refund,)))
    assert levels(hub, shop) == (10, 2)
    ship(hub, None)
    ingest(hub, order(OrderStatus.COMPLETED, minutes=2, refunds=(refund,)))
    assert levels(hub, shop) == (8, 0)


def test_completed_on_the_channel_ships_what_the_hub_has_not(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order(lines=(("1", "A-1", 3), ("2", "A-2", 1))))
    ship(hub, {"A-1": 1})
    ingest(hub, order(OrderStatus.COMPLETED, minutes=1, lines=(("1", "A-1", 3), ("2", "A-2", 1))))
    ingest(hub, order(OrderStatus.COMPLETED, minutes=2, lines=(("1", "A-1", 3), ("2", "A-2", 1))))
    assert levels(hub, shop, "A-1") == (7, 0)
    assert levels(hub, shop, "A-2") == (9, 0)
    with hub.db.session() as session:
        statuses = sorted(session.scalars(select(tables.Shipment.push_status)))
    assert statuses == ["channel", "pending"]


def test_unmapped_line_is_held_then_released_when_linked(hub: Hub, shop: dict[str, Any]) -> None:
    with hub.db.session() as session:
        variant = session.get(tables.Variant, shop["variants"]["A-2"])
        assert variant is not None
        listing = session.scalar(select(tables.Listing).where(tables.Listing.channel_sku == "A-2"))
        assert listing is not None
        listing.variant_id = None
        listing_id = listing.id
    result = ingest(hub, order(lines=(("1", "A-1", 1), ("2", "A-2", 2))))
    assert result.held_lines == 1
    assert levels(hub, shop, "A-2") == (10, 0)
    ingest(hub, order(minutes=1, lines=(("1", "A-1", 1), ("2", "A-2", 2))))  # still held: one conflict
    with hub.db.session() as session:
        conflicts = session.scalars(select(tables.Conflict).where(tables.Conflict.kind == "unmapped_order_line")).all()
        assert len(conflicts) == 1 and conflicts[0].status == "open"
        assert conflicts[0].evidence["channel_sku"] == "A-2" and conflicts[0].evidence["quantity"] == 2
        assert conflicts[0].suggestions[0]["variant_id"] == shop["variants"]["A-2"]
        assert "ada" not in str(conflicts[0].evidence).lower()
        listing = session.get(tables.Listing, listing_id)
        assert listing is not None
        listing.variant_id = shop["variants"]["A-2"]
        session.flush()
        assert release_held_lines(session, listing_id) == 1
        assert release_held_lines(session, listing_id) == 0
    assert levels(hub, shop, "A-2") == (10, 2)
    with hub.db.session() as session:
        assert session.scalar(select(tables.Conflict.status)) == "resolved"


def test_orders_placed_before_the_account_was_connected_are_history(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order(placed=datetime.now(UTC) - timedelta(days=30)))
    ship(hub, None)
    assert levels(hub, shop) == (10, 0)
