"""`marketsync planning show|refresh`: velocity, days of cover, safety stock and reorder points."""

from __future__ import annotations

import click

from cli.app import App, json_option, pass_app, print_json, print_table
from sync.planning.service import plan, refresh


@click.group()
def planning() -> None:
    """Sales velocity, days of cover, safety stock and reorder point per SKU (from the ledger)."""


@planning.command("show")
@click.argument("skus", nargs=-1)
@json_option
@pass_app
def planning_show(app: App, skus: tuple[str, ...], as_json: bool) -> None:
    """The plan of every stocked SKU (or of SKUS): how fast it sells and when to reorder."""
    hub = app.stock_hub()
    rows = [row.as_dict() for row in plan(hub, list(skus) or None)]
    if as_json:
        print_json(rows)
        return
    print_table("planning", ["sku", "available", "velocity/day", "days of cover", "lead time", "safety stock",
                             "reorder point", ""],
                ([r["sku"], r["available"], r["velocity"], r["days_of_cover"] if r["days_of_cover"] is not None
                  else "-", r["lead_time_days"], f"{r['safety_stock']} ({r['safety_stock_source']})",
                  r["reorder_point"], "REORDER" if r["below_reorder_point"] else ""] for r in rows))


@planning.command("refresh")
@json_option
@pass_app
def planning_refresh(app: App, as_json: bool) -> None:
    """Recompute every SKU's figures now; with dynamic safety stock, channels get the new quantities."""
    result = refresh(app.stock_hub())
    if as_json:
        print_json(result)
    else:
        click.echo(f"{result['skus']} SKUs computed; dynamic safety stock changed for {result['changed']}")


commands = [planning]
