"""`marketsync report sales|inventory`: figures across every channel, as tables, JSON, CSV, HTML or PNG."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cli.app import App, json_option, pass_app, print_json, print_table
from sync.reports import service
from sync.reports.period import Period, PeriodError, period
from sync.reports.sales import GROUPINGS


def _period(since: str | None, until: str | None) -> Period:
    try:
        return period(since, until)
    except PeriodError as exc:
        raise click.BadParameter(str(exc)) from None


def _outputs(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed((
        click.option("--since", help="From this date (YYYY-MM-DD, UTC) or ISO time; default 30 days ago."),
        click.option("--until", help="Up to this date, included (YYYY-MM-DD), or before this ISO time; default now."),
        json_option,
        click.option("--csv", "csv_file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
                     help="Write the rows as CSV to FILE ('-' for stdout)."),
        click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write one self-contained HTML page with the charts to FILE."),
        click.option("--png", "png_dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Write the charts as PNG files into DIR."),
    )):
        function = option(function)
    return function


def _money(amounts: dict[str, str]) -> str:
    return "  ".join(f"{amount} {code}" for code, amount in amounts.items()) or "-"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _emit(app: App, report: dict[str, Any], *, as_json: bool, csv_file: Path | None, html_file: Path | None,
          png_dir: Path | None, show: Callable[[dict[str, Any]], None], by: str = "channel") -> None:
    written = []
    if csv_file is not None:
        text = service.as_csv(report)
        if str(csv_file) == "-":
            click.echo(text, nl=False)
        else:
            written.append(service.write_text(csv_file, text))
    if html_file is not None or png_dir is not None:
        written += service.write_outputs(app.ready_hub(), _period(report["since"], report["until"]), by,
                                         html=html_file, png=png_dir)
    if as_json:
        print_json(report)
    elif csv_file is None or str(csv_file) != "-":
        show(report)
    for path in written:
        click.echo(f"wrote {path}", err=True)


@click.group()
def report() -> None:
    """Sales and inventory figures across every channel (computed by the database)."""


def _show_sales(data: dict[str, Any]) -> None:
    rows = [*data["rows"], data["total"]]
    converted = data["currency"]
    print_table(f"sales by {data['by']}  {data['since'][:10]} .. {data['until'][:10]}",
                [data["by"], "orders", "units", "gross", "refunds", "net", *([f"net {converted}"] if converted else []),
                 "avg order", "refund rate", "repeat rate"],
                ([row["key"], row["orders"], row["units"], _money(row["gross"]), _money(row["refunds"]),
                  _money(row["net"]), *([row["converted"]["net"]] if converted else []),
                  _money(row["average_order_value"]), _percent(row["refund_rate"]),
                  _percent(row["repeat_purchase_rate"])] for row in rows))
    if data["missing_rates"]:
        click.echo(f"no rate into {converted} for {', '.join(data['missing_rates'])}: shown on their own, not "
                   "added into the converted totals (set [reports.rates])")


@report.command("sales")
@click.option("--by", type=click.Choice(GROUPINGS), default="channel", show_default=True, help="Group rows by.")
@_outputs
@pass_app
def report_sales(app: App, by: str, since: str | None, until: str | None, as_json: bool, csv_file: Path | None,
                 html_file: Path | None, png_dir: Path | None) -> None:
    """Orders, units, GMV gross and net of refunds, average order value, refund and repeat purchase rates."""
    data = service.sales(app.ready_hub(), _period(since, until), by)
    _emit(app, data, as_json=as_json, csv_file=csv_file, html_file=html_file, png_dir=png_dir, show=_show_sales,
          by=by)


def _show_inventory(data: dict[str, Any]) -> None:
    print_table(f"inventory  {data['since'][:10]} .. {data['until'][:10]}",
                ["sku", "on hand", "committed", "available", "value", "sold", "turnover", "days of inv.",
                 "sell-through", "dead"],
                ([row["sku"], row["on_hand"], row["committed"], row["available"],
                  f"{row['value']} {row['currency']}" if row["value"] else "-", row["sold"], row["turnover"] or "-",
                  row["days_of_inventory"] or "-", _percent(row["sell_through"]), "yes" if row["dead_stock"] else ""]
                 for row in data["rows"]))
    total = data["total"]
    click.echo(f"total: {total['on_hand']} on hand, value {_money(total['value'])}, COGS {_money(total['cogs'])}, "
               f"turnover {total['turnover'] or '-'}, {len(data['dead_stock'])} dead-stock SKUs, "
               f"{total['skus_without_cost']} SKUs without a cost price")


@report.command("inventory")
@_outputs
@pass_app
def report_inventory(app: App, since: str | None, until: str | None, as_json: bool, csv_file: Path | None,
                     html_file: Path | None, png_dir: Path | None) -> None:
    """On hand, committed, available, value at cost, turnover, days of inventory, sell-through, dead stock."""
    data = service.inventory(app.ready_hub(), _period(since, until))
    _emit(app, data, as_json=as_json, csv_file=csv_file, html_file=html_file, png_dir=png_dir,
          show=_show_inventory)


commands = [report]
