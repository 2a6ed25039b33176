"""`marketsync report|supply|planning` through the real entry point, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from sync.hub.context import Hub
from tests.sync.report_world import channels_fixture, place, refund  # noqa: F401 - fixtures


def _orders(hub: Hub) -> None:
    place(hub, "woo", "1", [("R-1", 2, "10.00")], email="ada@example.com")
    place(hub, "shop", "2", [("R-2", 1, "5.50")], day=1, email="ada@example.com", currency="USD",
          refunds=(refund("rf", "2-0", 1, "5.50", "USD"),))


def test_sales_report_json_csv_and_table(hub: Hub, channels: dict[str, Any], cli: Any) -> None:
    _orders(hub)
    result = cli("report", "sales", "--since", "2026-11-01", "--until", "2026-11-30", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total"]["gross"] == {"EUR": "20.00", "USD": "5.50"} and data["total"]["repeat_customers"] == 1
    result = cli("report", "sales", "--since", "2026-11-01", "--until", "2026-11-30", "--by", "sku", "--csv", "-")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["sku"], r["units"], r["gross_EUR"], r["refunds_USD"]) for r in rows] == \
        [("R-1", "2", "20.00", ""), ("R-2", "1", "", "5.50"), ("total", "3", "20.00", "5.50")]
    table = cli("report", "sales", "--since", "2026-11-01", "--until", "2026-11-30",
                env={"MARKETSYNC_REPORTS__CURRENCY": "EUR"})
    assert table.exit_code == 0 and "woo" in table.output
    assert "no rate into EUR for USD" in table.output


def test_html_page_is_self_contained_and_png_charts_are_written(hub: Hub, channels: dict[str, Any], cli: Any,
                                                               tmp_path: Path) -> None:
    _orders(hub)
    page, charts = tmp_path / "out" / "report.html", tmp_path / "charts"
    result = cli("report", "sales", "--since", "2026-11-01", "--until", "2026-11-30", "--html", str(page),
                 "--png", str(charts), "--json")
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert text.count("data:image/svg+xml;base64,") == 4
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", text)  # nothing fetched from a network
    assert "Sales per channel" in text and "ada@example.com" not in text
    assert sorted(p.name for p in charts.iterdir()) == ["returns-by-reason.png", "sales-per-channel.png",
                                                         "stock-cover.png", "top-skus.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in charts.iterdir())


def test_a_range_with_no_sales_and_bad_dates(hub: Hub, channels: dict[str, Any], cli: Any, tmp_path: Path) -> None:
    _orders(hub)
    result = cli("report", "sales", "--since", "2020-01-01", "--until", "2020-01-31", "--json",
                 "--html", str(tmp_path / "empty.html"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["rows"] == [] and data["total"]["orders"] == 0 and data["total"]["gross"] == {}
    assert (tmp_path / "empty.html").read_text().count("data:image/svg+xml;base64,") == 4
    bad = cli("report", "sales", "--since", "last tuesday")
    assert bad.exit_code == 2 and "is not a date" in bad.output
    backwards = cli("report", "sales", "--since", "2026-12-01", "--until", "2026-11-01")
    assert backwards.exit_code == 2 and "is not before" in backwards.output


def test_inventory_supply_and_planning(hub: Hub, channels: dict[str, Any], cli: Any, tmp_path: Path) -> None:
    supply = tmp_path / "supply.csv"
    supply.write_text("sku,cost,currency,supplier,lead_time_days,safety_stock\nR-1,2.00,EUR,acme,5,1\n")
    result = cli("supply", "import", str(supply))
    assert result.exit_code == 0 and "1 SKUs updated" in result.output
    listed = json.loads(cli("supply", "list", "R-1", "--json").output)
    assert listed == [{"sku": "R-1", "cost": "2.00", "currency": "EUR", "supplier": "acme", "lead_time_days": 5,
                       "safety_stock": 1}]
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,cost\nNOPE,1\n")
    refused = cli("supply", "import", str(bad))
    assert refused.exit_code == 1 and "line 2: unknown SKU 'NOPE'" in refused.output
    inventory = json.loads(cli("report", "inventory", "--json").output)
    row = next(r for r in inventory["rows"] if r["sku"] == "R-1")
    assert (row["on_hand"], row["value"], row["currency"]) == (20, "40.00", "EUR")
    plan = json.loads(cli("planning", "show", "R-1", "--json").output)
    assert plan[0]["lead_time_days"] == 5 and plan[0]["safety_stock"] == 1
    assert cli("planning", "show", "NOPE").exit_code == 1
    assert "SKUs computed" in cli("planning", "refresh").output
