"""The report as one self-contained HTML page (`--html FILE`) and its charts alone (`--png DIR`).

The page embeds its charts as SVG data URIs and its style inline: it opens from a file, with no
network and nothing beside it.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from store.settings import Settings
from store.types import utcnow
from sync.aftersales.views import returns_by_reason
from sync.planning.plan import plan_rows
from sync.reports.inventory import inventory_report
from sync.reports.period import Period
from sync.reports.sales import sales_report
from sync.reports.series import channel_series

if TYPE_CHECKING:  # matplotlib is loaded when a chart is drawn, not by every command that starts
    from matplotlib.figure import Figure

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 62em; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0; } h2 { font-size: 1.15em; margin-top: 2em; }
.meta { color: #666; margin-top: .2em; } .note { color: #8a4b00; }
table { border-collapse: collapse; width: 100%; margin: .6em 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e3e3e3; padding: .25em .5em; text-align: right; }
th:first-child, td:first-child { text-align: left; } tr.total td { font-weight: 600; border-top: 2px solid #999; }
img { width: 100%; height: auto; margin: .4em 0 1em; }
"""
TOP_ROWS = 50


@dataclass(frozen=True)
class ReportData:
    period: Period
    by: str
    sales: dict[str, Any]
    sales_by_channel: dict[str, Any]
    sales_by_sku: dict[str, Any]
    inventory: dict[str, Any]
    plan: list[dict[str, Any]]
    returns_by_reason: dict[str, int]
    generated_at: datetime


def gather(session: Session, settings: Settings, period: Period, by: str = "channel",
           now: datetime | None = None) -> ReportData:
    """Everything the page and the charts show, read in one session."""
    now = now or utcnow()
    by_channel = sales_report(session, settings, period, "channel")
    return ReportData(
        period=period, by=by, sales=by_channel if by == "channel" else sales_report(session, settings, period, by),
        sales_by_channel=by_channel, sales_by_sku=sales_report(session, settings, period, "sku"),
        inventory=inventory_report(session, settings, period, now=now),
        plan=[row.as_dict() for row in plan_rows(session, settings, now=now)],
        returns_by_reason=returns_by_reason(session, period.since, period.until), generated_at=now)


def figures(session: Session, settings: Settings, data: ReportData) -> dict[str, Figure]:
    from sync.reports import charts

    bucket = "week" if data.period.days > 92 else "day"
    return {
        "sales-per-channel": charts.sales_per_channel(channel_series(session, settings, data.period, bucket), bucket),
        "top-skus": charts.top_skus(data.sales_by_sku["rows"]),
        "stock-cover": charts.stock_cover(data.plan),
        "returns-by-reason": charts.returns_by_reason(data.returns_by_reason),
    }


def write_pngs(directory: Path, drawn: dict[str, Figure]) -> list[Path]:
    from sync.reports import charts

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, figure in drawn.items():
        path = directory / f"{name}.png"
        path.write_bytes(charts.as_png(figure))
        written.append(path)
    return written


def _money(amounts: dict[str, str]) -> str:
    return " · ".join(f"{amount} {code}" for code, amount in amounts.items()) or "—"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], total: Sequence[Any] | None = None) -> str:
    def cells(values: Sequence[Any], tag: str = "td") -> str:
        return "".join(f"<{tag}>{html.escape('' if v is None else str(v))}</{tag}>" for v in values)

    body = "".join(f"<tr>{cells(row)}</tr>" for row in rows)
    foot = f'<tr class="total">{cells(total)}</tr>' if total is not None else ""
    return f"<table><tr>{cells(headers, 'th')}</tr>{body}{foot}</table>"


def _sales_row(row: dict[str, Any]) -> list[Any]:
    converted = row.get("converted")
    return [row["key"], row["orders"], row["units"], _money(row["gross"]), _money(row["net"]),
            f"{converted['net']} {converted['currency']}" if converted else "—", _money(row["average_order_value"]),
            _percent(row["refund_rate"]), _percent(row["return_rate"]), _percent(row["repeat_purchase_rate"])]


SALES_HEADERS = ("", "orders", "units", "GMV gross", "GMV net", "net converted", "avg order", "refund rate",
                 "return rate", "repeat rate")


def _sales_section(title: str, report: dict[str, Any]) -> str:
    rows = report["rows"][:TOP_ROWS]
    more = len(report["rows"]) - len(rows)
    note = f'<p class="meta">{more} more rows in `--csv` / `--json`.</p>' if more > 0 else ""
    return f"<h2>{html.escape(title)}</h2>" + _table(
        (report["by"], *SALES_HEADERS[1:]), (_sales_row(r) for r in rows), _sales_row(report["total"])) + note


def _inventory_section(report: dict[str, Any]) -> str:
    total = report["total"]
    converted = total.get("converted")
    summary = _table(("", "SKUs", "on hand", "committed", "available", "value at cost", "COGS", "turnover",
                      "days of inventory"),
                     [["total", total["skus"], total["on_hand"], total["committed"], total["available"],
                       _money(total["value"]) + (f" (= {converted['value']} {converted['currency']})"
                                                 if converted else ""),
                       _money(total["cogs"]), total["turnover"] or "—", total["days_of_inventory"] or "—"]])
    dead = ", ".join(report["dead_stock"][:TOP_ROWS]) or "none"
    return (f"<h2>Inventory</h2>{summary}<p>Dead stock (no order in {report['dead_stock_days']} days, on hand): "
            f"{html.escape(dead)}</p><p class='meta'>{total['skus_without_cost']} SKUs have no cost price "
            "(`marketsync supply import`).</p>")


def _image(figure: Figure, name: str) -> str:
    from sync.reports import charts

    encoded = base64.b64encode(charts.as_svg(figure)).decode()
    return f'<img alt="{html.escape(name)}" src="data:image/svg+xml;base64,{encoded}">'


def render(data: ReportData, drawn: dict[str, Figure]) -> str:
    """The page as text: summary tables, the charts, inventory, notes on currencies."""
    sales = data.sales_by_channel
    missing = sales["missing_rates"]
    notes = (f'<p class="note">No rate into {html.escape(str(sales["currency"]))} for '
             f'{html.escape(", ".join(missing))}: those amounts are shown on their own and left out of '
             "converted totals.</p>") if missing else ""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>marketsync report</title>",
        f"<style>{STYLE}</style></head><body><h1>marketsync report</h1>",
        f"<p class='meta'>{data.period.since:%Y-%m-%d %H:%M} to {data.period.until:%Y-%m-%d %H:%M} UTC · "
        f"generated {data.generated_at:%Y-%m-%d %H:%M} UTC</p>", notes,
        _sales_section("Sales per channel", sales),
        _image(drawn["sales-per-channel"], "sales per channel over time"),
    ]
    if data.by != "channel":
        parts.append(_sales_section(f"Sales per {data.by}", data.sales))
    parts += [_image(drawn["top-skus"], "top SKUs"), "<h2>Stock cover</h2>",
              _image(drawn["stock-cover"], "stock cover with the reorder line"),
              _inventory_section(data.inventory), "<h2>Returns</h2>",
              _image(drawn["returns-by-reason"], "returns by reason"), "</body></html>"]
    return "\n".join(parts)
