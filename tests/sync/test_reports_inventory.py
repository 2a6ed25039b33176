"""The inventory report on SQLite and PostgreSQL: value at cost, turnover, sell-through, dead stock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from sync.hub.context import Hub
from sync.planning.supply import import_supply, supply_rows
from sync.reports.inventory import inventory_report
from sync.reports.period import Period
from tests.sync.timed_ledger import make_variants, move

D = datetime(2026, 10, 1, tzinfo=UTC)
PERIOD = Period(D, D + timedelta(days=10))
NOW = D + timedelta(days=20)


@pytest.fixture(name="stock")
def stock_fixture(hub: Hub, tmp_path: Path) -> dict[str, int]:
    ids = make_variants(hub, "T-1", "T-2", "T-3")
    move(hub, ids["T-1"], "a1", D - timedelta(days=5), on_hand=20, reason="receive")
    move(hub, ids["T-1"], "c1", D + timedelta(days=4), committed=4, reason="order_commit")
    move(hub, ids["T-1"], "s1", D + timedelta(days=5), on_hand=-4, committed=-4, reason="shipment")
    move(hub, ids["T-1"], "a2", D + timedelta(days=12), on_hand=10, reason="receive")
    move(hub, ids["T-2"], "a3", D - timedelta(days=100), on_hand=5, reason="receive")
    move(hub, ids["T-3"], "a4", D - timedelta(days=100), on_hand=3, reason="receive")
    move(hub, ids["T-3"], "c2", D + timedelta(days=3), committed=1, reason="order_commit")
    csv = tmp_path / "supply.csv"
    csv.write_text("sku,cost,currency,supplier,lead_time_days\nT-1,2.50,EUR,acme,7\nT-2,1.10,usd,,\n")
    assert import_supply(hub, csv).as_dict() == {"updated": 2, "unchanged": 0, "errors": []}
    return ids


def test_inventory_figures(hub: Hub, stock: dict[str, int]) -> None:
    with hub.db.session() as session:
        data = inventory_report(session, hub.settings, PERIOD, now=NOW)
    rows = {row["sku"]: row for row in data["rows"]}
    t1 = rows["T-1"]
    assert (t1["on_hand"], t1["opening_on_hand"], t1["closing_on_hand"], t1["sold"]) == (26, 20, 16, 4)
    assert t1["average_on_hand"] == 18.0  # 20 for five days, 16 for five
    assert (t1["value"], t1["cogs"], t1["average_value"]) == ("65.00", "10.00", "45.00")
    assert t1["turnover"] == round(4 / 18, 3) and t1["days_of_inventory"] == 45.0
    assert t1["sell_through"] == 0.2 and not t1["dead_stock"]
    assert rows["T-2"]["dead_stock"] and rows["T-2"]["currency"] == "USD"
    assert not rows["T-3"]["dead_stock"] and rows["T-3"]["value"] is None  # ordered recently; no cost
    assert data["dead_stock"] == ["T-2"]
    total = data["total"]
    assert total["value"] == {"EUR": "65.00", "USD": "5.50"} and total["skus_without_cost"] == 1
    assert total["turnover"] is None  # two currencies and no rates: not summed
    hub.settings.reports.currency = "EUR"
    hub.settings.reports.rates = {"USD": Decimal("1")}
    with hub.db.session() as session:
        converted = inventory_report(session, hub.settings, PERIOD, now=NOW)["total"]
    assert converted["converted"] == {"currency": "EUR", "value": "70.50", "cogs": "10.00", "missing_rates": []}
    assert converted["turnover"] == round(10 / (45 + 5.5), 3)


def test_supply_import_is_all_or_nothing(hub: Hub, stock: dict[str, int], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,cost,safety_stock\nT-3,abc,\nNOPE,1,\nT-2,2.00,-1\nT-1,9.99,4\n")
    result = import_supply(hub, bad).as_dict()
    assert [e["line"] for e in result["errors"]] == [2, 3, 4, 5] and result["updated"] == 0
    assert "unknown SKU 'NOPE'" in result["errors"][1]["error"]
    assert "cost has no currency" in result["errors"][3]["error"]  # no currency column, no [reports] currency
    with hub.db.session() as session:
        rows = {row["sku"]: row for row in supply_rows(session)}
    assert rows["T-1"]["cost"] == "2.50" and rows["T-1"]["safety_stock"] is None
    good = tmp_path / "good.csv"
    good.write_text("sku,safety_stock,lead_time_days\nT-1,4,\n")
    assert import_supply(hub, good).updated == 1
    with hub.db.session() as session:
        rows = {row["sku"]: row for row in supply_rows(session)}
    assert (rows["T-1"]["safety_stock"], rows["T-1"]["lead_time_days"], rows["T-1"]["supplier"]) == (4, 7, "acme")
