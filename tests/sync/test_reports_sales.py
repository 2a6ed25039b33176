"""The sales report on SQLite and PostgreSQL: grouping, currencies, refunds, repeat customers."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from canonical import OrderStatus
from store import tables
from sync.hub.context import Hub
from sync.orders.privacy import purge
from sync.reports.period import Period
from sync.reports.sales import ReportError, sales_report
from tests.sync.report_world import DAY0, channels_fixture, place, refund  # noqa: F401 - fixtures

WEEK = Period(DAY0, datetime(2026, 11, 16, tzinfo=UTC))


def report(hub: Hub, by: str = "channel", period: Period = WEEK) -> dict[str, Any]:
    with hub.db.session() as session:
        return sales_report(session, hub.settings, period, by)


def rows(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in data["rows"]}


def _week_of_orders(hub: Hub) -> None:
    place(hub, "woo", "1", [("R-1", 2, "10.00")], email="Ada@Example.com")
    place(hub, "woo", "2", [("R-1", 1, "10.00"), ("R-2", 1, "5.50")], day=1, email="ada@example.com",
          refunds=(refund("rf1", "2-0", 1, "10.00"),))
    place(hub, "shop", "3", [("R-3", 4, "2.25")], day=8, email="ada@example.com")
    place(hub, "shop", "4", [("R-2", 1, "5.50")], day=8, buyer="gid://shopify/Customer/9")
    place(hub, "shop", "5", [("R-2", 3, "5.50")], day=2, status=OrderStatus.PENDING, email="bo@example.com")
    place(hub, "shop", "6", [("R-2", 3, "5.50")], day=2, status=OrderStatus.CANCELLED, email="bo@example.com")


def test_per_channel_and_total(hub: Hub, channels: dict[str, Any]) -> None:
    _week_of_orders(hub)
    data = report(hub)
    woo, shop = rows(data)["woo"], rows(data)["shop"]
    assert (woo["orders"], woo["units"], woo["gross"], woo["refunds"], woo["net"]) == \
        (2, 4, {"EUR": "35.50"}, {"EUR": "10.00"}, {"EUR": "25.50"})
    assert woo["average_order_value"] == {"EUR": "17.75"} and woo["refund_rate"] == 0.5
    assert (woo["customers"], woo["repeat_customers"], woo["repeat_purchase_rate"]) == (1, 1, 1.0)
    # pending and cancelled orders are not sales
    assert (shop["orders"], shop["units"], shop["gross"]) == (2, 5, {"EUR": "14.50"})
    assert (shop["customers"], shop["repeat_customers"]) == (2, 0)
    total = data["total"]
    assert (total["orders"], total["units"], total["gross"], total["net"]) == (4, 9, {"EUR": "50.00"},
                                                                               {"EUR": "40.00"})
    # the same email on both channels is one customer who came back; the buyer id is another one
    assert (total["customers"], total["repeat_customers"], total["repeat_purchase_rate"]) == (2, 1, 0.5)
    assert total["refunded_units"] == 1 and total["refund_rate"] == 0.25


def test_by_day_week_and_sku(hub: Hub, channels: dict[str, Any]) -> None:
    _week_of_orders(hub)
    days = rows(report(hub, "day"))
    assert list(days) == ["2026-11-02", "2026-11-03", "2026-11-10"]
    assert days["2026-11-10"]["orders"] == 2 and days["2026-11-10"]["gross"] == {"EUR": "14.50"}
    weeks = rows(report(hub, "week"))
    assert {key: row["orders"] for key, row in weeks.items()} == {"2026-11-02": 2, "2026-11-09": 2}
    skus = rows(report(hub, "sku"))
    assert (skus["R-1"]["units"], skus["R-1"]["orders"], skus["R-1"]["gross"], skus["R-1"]["refunds"]) == \
        (3, 2, {"EUR": "30.00"}, {"EUR": "10.00"})
    assert skus["R-2"]["units"] == 2 and skus["R-2"]["gross"] == {"EUR": "11.00"}
    assert skus["R-1"]["repeat_purchase_rate"] is None  # repeat purchases: per channel and in total
    assert days["2026-11-02"]["customers"] is None


def test_mixed_currencies_without_a_rate_are_named_not_summed(hub: Hub, channels: dict[str, Any]) -> None:
    place(hub, "woo", "1", [("R-1", 1, "10.00")])
    place(hub, "shop", "2", [("R-1", 1, "20.00")], currency="USD")
    place(hub, "shop", "3", [("R-1", 1, "100.00")], currency="CNY")
    hub.settings.reports.currency = "EUR"
    hub.settings.reports.rates = {"USD": Decimal("0.90")}
    data = report(hub)
    total = data["total"]
    assert total["gross"] == {"CNY": "100.00", "EUR": "10.00", "USD": "20.00"}
    assert total["converted"] == {"currency": "EUR", "gross": "28.00", "refunds": "0.00", "net": "28.00",
                                  "average_order_value": "14.00", "missing_rates": ["CNY"]}
    assert data["missing_rates"] == ["CNY"]
    assert rows(data)["shop"]["converted"]["missing_rates"] == ["CNY"]
    assert rows(data)["woo"]["converted"]["missing_rates"] == []


def test_a_range_with_no_sales(hub: Hub, channels: dict[str, Any]) -> None:
    place(hub, "woo", "1", [("R-1", 1, "10.00")])
    empty = Period(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    for by in ("channel", "sku", "day", "week"):
        data = report(hub, by, empty)
        assert data["rows"] == []
        total = data["total"]
        assert (total["orders"], total["units"], total["gross"], total["customers"]) == (0, 0, {}, 0)
        assert total["refund_rate"] is None and total["repeat_purchase_rate"] is None


def test_unknown_grouping_is_refused(hub: Hub, channels: dict[str, Any]) -> None:
    with pytest.raises(ReportError, match="choose one of channel, sku, day, week"):
        report(hub, "month")


def test_customer_key_is_a_salted_hash_and_purge_removes_it(hub: Hub, channels: dict[str, Any]) -> None:
    order_id = place(hub, "woo", "1", [("R-1", 1, "10.00")], email="ada@example.com", day=-400)
    with hub.db.session() as session:
        key = session.scalar(select(tables.Order.customer_key).where(tables.Order.id == order_id))
    # 32 hex digits and nothing of the address ("ada" alone is hex, so a random key may hold it).
    assert key is not None and re.fullmatch(r"[0-9a-f]{32}", key), key
    assert key != hashlib.sha256(b"email:ada@example.com").hexdigest()[:32]  # salted
    purge(hub, older_than_days=365, actor="test")
    place(hub, "woo", "1", [("R-1", 1, "10.00")], email="ada@example.com", day=-400)
    with hub.db.session() as session:
        assert session.scalar(select(tables.Order.customer_key).where(tables.Order.id == order_id)) is None
