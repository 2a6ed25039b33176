"""Returns as a flow on the ledger, by hand and from channels' refunds and after-sales (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

import canonical
from canonical import AfterSaleKind, AfterSaleStage, Money, OrderStatus
from store import tables
from sync.aftersales.flow import ReturnError
from sync.aftersales.service import create_return, list_returns, ship_replacement, show_return, take_step
from sync.hub.context import Hub
from sync.orders.privacy import purge
from sync.orders.views import show_order
from sync.reports.period import Period
from sync.reports.sales import sales_report
from tests.sync.order_world import ingest, levels, order, ship, shop_fixture  # noqa: F401 - fixtures


def at_returns(hub: Hub, shop: dict[str, Any], sku: str = "A-1") -> tuple[int, int]:
    with hub.db.session() as session:
        row = session.execute(select(tables.StockLevel.on_hand, tables.StockLevel.committed)
                              .join(tables.Location, tables.Location.id == tables.StockLevel.location_id)
                              .where(tables.Location.code == "returns",
                                     tables.StockLevel.variant_id == shop["variants"][sku])).first()
        return (int(row[0]), int(row[1])) if row else (0, 0)


@pytest.fixture(name="shipped")
def shipped_fixture(hub: Hub, shop: dict[str, Any]) -> dict[str, Any]:
    """Order woo:500 of 3 x A-1, shipped: 7 on hand."""
    ingest(hub, order())
    ship(hub, {"A-1": 3})
    assert levels(hub, shop) == (7, 0)
    return shop


def step(hub: Hub, return_id: int, name: str, **kw: Any) -> dict[str, Any]:
    return take_step(hub, return_id, name, actor="test", **kw)


def test_a_return_flows_through_the_ledger_and_each_step_counts_once(hub: Hub, shipped: dict[str, Any]) -> None:
    made = create_return(hub, "woo:500", "A-1", 2, reason="too small", actor="test", reference="RMA-1")
    assert (made["status"], made["created"]) == ("requested", True)
    again = create_return(hub, "woo:500", "A-1", 2, reason="too small", actor="test", reference="RMA-1")
    assert (again["id"], again["created"]) == (made["id"], False)  # the same reference is one return
    assert levels(hub, shipped) == (7, 0)  # requested: nothing moved yet
    step(hub, made["id"], "received")
    assert at_returns(hub, shipped) == (2, 0) and levels(hub, shipped) == (7, 0)  # not for sale yet
    assert step(hub, made["id"], "received")["moved"] is False
    step(hub, made["id"], "inspected", note="as new")
    step(hub, made["id"], "restocked")
    assert levels(hub, shipped) == (9, 0) and at_returns(hub, shipped) == (0, 0)
    assert step(hub, made["id"], "restocked")["moved"] is False
    shown = show_return(hub, made["id"])
    assert [h["step"] for h in shown["history"]] == ["requested", "received", "inspected", "restocked"]
    assert [m["key"].split(":", 2)[2] for m in shown["movements"]] == \
        ["requested", "received", "inspected", "restock:out", "restock:in"]
    with pytest.raises(ReturnError, match="1 unit"):  # 3 shipped, 2 already back
        create_return(hub, "woo:500", "A-1", 2, reason="", actor="test")
    with pytest.raises(ReturnError, match="it can go to nothing"):
        step(hub, made["id"], "written_off", note="x")


def test_write_off_refund_only_and_closing(hub: Hub, shipped: dict[str, Any]) -> None:
    damaged = create_return(hub, "woo:500", "A-1", 1, reason="broken in transit", actor="test")
    step(hub, damaged["id"], "received")
    with pytest.raises(ReturnError, match="say why"):
        step(hub, damaged["id"], "written_off")
    step(hub, damaged["id"], "written_off", note="glass shattered")
    assert at_returns(hub, shipped) == (0, 0) and levels(hub, shipped) == (7, 0)
    before = show_order_movements(hub)
    money = create_return(hub, "woo:500", "A-1", 1, reason="late delivery", actor="test", refund_only=True)
    assert money["status"] == "refunded" and show_order_movements(hub) == before  # refund only moves no stock
    with pytest.raises(ReturnError, match="refund-only"):
        step(hub, money["id"], "received")
    withdrawn = create_return(hub, "woo:500", "A-1", 1, reason="changed mind", actor="test")
    step(hub, withdrawn["id"], "closed")
    assert levels(hub, shipped) == (7, 0) and {r["status"] for r in list_returns(hub)} == \
        {"written_off", "refunded", "closed"}


def show_order_movements(hub: Hub) -> list[str]:
    with hub.db.session() as session:
        return [m["key"] for m in show_order(session, "woo:500")["movements"]]


def test_an_exchange_holds_ships_the_replacement_and_restocks_the_returned_unit(hub: Hub,
                                                                                shipped: dict[str, Any]) -> None:
    swap = create_return(hub, "woo:500", "A-1", 1, reason="wrong size", actor="test", exchange_for="A-2")
    assert levels(hub, shipped, "A-2") == (10, 1)  # the replacement is held for the buyer
    ship_replacement(hub, swap["id"], actor="test")
    assert levels(hub, shipped, "A-2") == (9, 0)
    assert ship_replacement(hub, swap["id"], actor="test")["moved"] is False
    step(hub, swap["id"], "received")
    step(hub, swap["id"], "restocked")
    assert levels(hub, shipped) == (8, 0)
    with hub.db.session() as session:
        returns = show_order(session, "woo:500")["returns"]
    assert returns[0]["kind"] == "exchange" and returns[0]["replacement_sku"] == "A-2"


def test_a_return_for_an_order_purged_for_privacy(hub: Hub, shipped: dict[str, Any]) -> None:
    with hub.db.session() as session:
        session.execute(update(tables.Order).values(placed_at=datetime.now(UTC) - timedelta(days=2)))
    purge(hub, older_than_days=1, actor="test")
    made = create_return(hub, "woo:500", "A-1", 1, reason="faulty", actor="test")
    step(hub, made["id"], "received")
    step(hub, made["id"], "restocked")
    assert levels(hub, shipped) == (8, 0)
    with hub.db.session() as session:
        data = show_order(session, "woo:500")
        stored = session.scalar(select(tables.Order))
        assert stored is not None and stored.customer_email is None and stored.customer_name is None
    assert data["returns"][0]["status"] == "restocked" and data["customer"]["email"] is None


def after_sale(stage: AfterSaleStage, *, kind: AfterSaleKind | None = AfterSaleKind.RETURN, restock: bool = False,
               replacement: str | None = None, refund_id: str = "AS-1") -> canonical.Refund:
    return canonical.Refund(external_id=refund_id, kind=kind, stage=stage, reason="not as described",
                            amount=Money.parse("10.00", "EUR"),
                            lines=(canonical.RefundLine(line_external_id="1", quantity=1, restock=restock,
                                                        replacement_sku=replacement),))


def test_a_channels_after_sale_moves_its_return_forward_once(hub: Hub, shipped: dict[str, Any]) -> None:
    ingest(hub, order(minutes=1, refunds=(after_sale(AfterSaleStage.REQUESTED),)))
    [made] = list_returns(hub)
    assert (made["status"], made["source"]) == ("requested", "channel:woo")
    with hub.db.session() as session:
        assert session.scalar(select(tables.Order.refunded_total)) is None  # nothing refunded yet
    ingest(hub, order(minutes=2, refunds=(after_sale(AfterSaleStage.RECEIVED),)))
    ingest(hub, order(minutes=3, refunds=(after_sale(AfterSaleStage.RECEIVED),)))  # seen twice
    assert at_returns(hub, shipped) == (1, 0) and len(list_returns(hub)) == 1
    ingest(hub, order(minutes=4, refunds=(after_sale(AfterSaleStage.COMPLETED),)))
    [done] = list_returns(hub)
    assert done["status"] == "received" and at_returns(hub, shipped) == (1, 0)  # waits for inspection
    with hub.db.session() as session:
        assert str(session.scalar(select(tables.Order.refunded_total))) == "10.00"
    step(hub, done["id"], "restocked")
    assert levels(hub, shipped) == (8, 0)


def test_channel_refunds_without_a_kind_and_closed_and_exchanges(hub: Hub, shipped: dict[str, Any]) -> None:
    plain = canonical.Refund(external_id="R-9", lines=(canonical.RefundLine(line_external_id="1", quantity=1,
                                                                            restock=False),))
    ingest(hub, order(minutes=1, refunds=(plain,)))
    assert [(r["kind"], r["status"]) for r in list_returns(hub)] == [("refund_only", "refunded")]
    assert levels(hub, shipped) == (7, 0)
    restocked = canonical.Refund(external_id="R-10", lines=(canonical.RefundLine(line_external_id="1", quantity=1,
                                                                                 restock=True),))
    ingest(hub, order(minutes=2, refunds=(plain, restocked)))
    ingest(hub, order(minutes=3, refunds=(plain, restocked)))
    assert levels(hub, shipped) == (8, 0)  # the channel restocked once; the return records it, no second move
    assert sorted((r["kind"], r["status"]) for r in list_returns(hub)) == \
        [("refund_only", "refunded"), ("return", "restocked")]
    closed = after_sale(AfterSaleStage.REQUESTED, kind=AfterSaleKind.EXCHANGE, replacement="A-2", refund_id="X-1")
    ingest(hub, order(minutes=4, refunds=(plain, restocked, closed)))
    assert levels(hub, shipped, "A-2") == (10, 1)
    ingest(hub, order(minutes=5, refunds=(plain, restocked, after_sale(
        AfterSaleStage.CLOSED, kind=AfterSaleKind.EXCHANGE, replacement="A-2", refund_id="X-1"))))
    assert levels(hub, shipped, "A-2") == (10, 0)  # withdrawn: the held replacement is released
    swap = after_sale(AfterSaleStage.COMPLETED, kind=AfterSaleKind.EXCHANGE, replacement="A-2", refund_id="X-2")
    ingest(hub, order(minutes=6, refunds=(plain, restocked, swap)))
    assert levels(hub, shipped, "A-2") == (9, 0) and at_returns(hub, shipped) == (1, 0)


def test_reports_count_return_rate_by_sku_and_channel(hub: Hub, shipped: dict[str, Any]) -> None:
    made = create_return(hub, "woo:500", "A-1", 1, reason="too small", actor="test")
    create_return(hub, "woo:500", "A-1", 1, reason="late", actor="test", refund_only=True)
    period = Period(datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1))
    with hub.db.session() as session:
        by_channel = sales_report(session, hub.settings, period, "channel")
        by_sku = sales_report(session, hub.settings, period, "sku")
    assert by_channel["rows"][0]["returned_units"] == 1 and by_channel["rows"][0]["return_rate"] == round(1 / 3, 4)
    assert by_sku["rows"][0]["key"] == "A-1" and by_sku["rows"][0]["returned_units"] == 1
    assert by_channel["total"]["returned_units"] == 1
    step(hub, made["id"], "closed")
    with hub.db.session() as session:
        assert sales_report(session, hub.settings, period)["total"]["returned_units"] == 0


def test_returns_of_pending_orders_are_refused(hub: Hub, shop: dict[str, Any]) -> None:
    ingest(hub, order(OrderStatus.OPEN))
    with pytest.raises(ReturnError, match="0 unit"):
        create_return(hub, "woo:500", "A-1", 1, reason="", actor="test")
    with pytest.raises(ReturnError, match="has no line 'B-9'"):
        create_return(hub, "woo:500", "B-9", 1, reason="", actor="test")
