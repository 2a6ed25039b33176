"""Order ingestion against the real ledger on SQLite and PostgreSQL (canonical orders in, movements out)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

import canonical
from canonical import OrderStatus
from store import tables
from sync.hub.context import Hub
from sync.orders.ingest import release_held_lines
from sync.orders.shipments import ShipmentError
from sync.stock.change import StockChange
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


def test_an_unchanged_order_read_again_writes_nothing(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order())
    writes: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(statement.split()[0] + " " + statement.split()[2 if statement.startswith("INSERT") else 1])

    engine = hub.db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        again = ingest(hub, order())  # a poll's lookback or a stale check reads it again, unchanged
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert not again.created and not again.stale
    assert [w for w in writes if "orders" in w or "movements" in w or "order_lines" in w] == [], writes
    assert levels(hub, shop) == (10, 3)
    changed = ingest(hub, order(OrderStatus.CANCELLED, minutes=1))  # a real change still goes through
    assert not changed.stale and levels(hub, shop) == (10, 0)


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
        change = StockChange(session, hub.settings)
        assert release_held_lines(change, listing_id) == 1
        assert release_held_lines(change, listing_id) == 0
        change.settle()
    assert levels(hub, shop, "A-2") == (10, 2)
    with hub.db.session() as session:
        assert session.scalar(select(tables.Conflict.status)) == "resolved"


def test_orders_placed_before_the_account_was_connected_are_history(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order(placed=datetime.now(UTC) - timedelta(days=30)))
    ship(hub, None)
    assert levels(hub, shop) == (10, 0)


def test_an_ignored_unmapped_line_stays_ignored_and_does_not_hold_the_order(cli: Any, hub: Hub,
                                                                             shop: dict[str, Any]) -> None:
    lines = (("1", "A-1", 1), ("2", "GIFT-WRAP", 1))  # a line no listing will ever match
    assert ingest(hub, order(lines=lines)).held_lines == 1
    with hub.db.session() as session:
        conflict_id = session.scalar(select(tables.Conflict.id).where(tables.Conflict.kind == "unmapped_order_line"))
    resolved = cli("conflicts", "resolve", str(conflict_id), "--ignore", "--note", "gift wrap")
    assert resolved.exit_code == 0, resolved.output
    ingest(hub, order(minutes=1, lines=lines))  # the next ingest of the order leaves it ignored
    with hub.db.session() as session:
        statuses = session.scalars(select(tables.Conflict.status)
                                   .where(tables.Conflict.kind == "unmapped_order_line")).all()
    assert statuses == ["ignored"]
    shipped = cli("ship", "woo:500", "--carrier", "UPS", "--tracking", "1Z1")  # all remaining units
    assert shipped.exit_code == 0, shipped.output
    assert levels(hub, shop) == (9, 0)


def test_polls_overlap_their_cursor_and_a_deep_poll_rereads_the_whole_lookback(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from sync.orders import polling

    windows: list[datetime] = []

    def record(_hub: Hub, _account_id: int, since: datetime, **_kw: Any) -> polling.PollCounts:
        windows.append(since)
        return polling.PollCounts()

    monkeypatch.setattr(polling, "ingest_stream", record)
    account_id, settings = shop["account_id"], hub.settings.sync
    with hub.db.session() as session:
        connected = session.get(tables.Account, account_id).created_at  # type: ignore[union-attr]
    polling.poll_orders(hub, account_id)  # no cursor yet: a deep poll from when the account was connected
    cursor = datetime.now(UTC).replace(microsecond=0)
    with hub.db.session() as session:
        polling.write_cursor(session, account_id, cursor)
    polling.poll_orders(hub, account_id)  # quick: the overlap only
    with hub.db.session() as session:
        session.execute(tables.Cursor.__table__.update().where(tables.Cursor.stream == polling.DEEP_STREAM)
                        .values(value=(datetime.now(UTC) - timedelta(seconds=settings.order_deep_poll_interval_s
                                                                      + 1)).isoformat()))
    polling.poll_orders(hub, account_id)  # the deep poll is due again
    lookback, overlap = timedelta(seconds=settings.order_lookback_s), timedelta(seconds=settings.order_overlap_s)
    assert windows == [connected - lookback, cursor - overlap, cursor - lookback]
