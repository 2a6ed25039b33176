"""`marketsync supply import|list`: cost price, supplier, lead time and safety stock per SKU."""

from __future__ import annotations

from pathlib import Path

import click

from cli.app import App, json_option, pass_app, print_json, print_table
from sync.planning.supply import import_supply, supply_rows


@click.group()
def supply() -> None:
    """What each SKU costs and where it comes from (for reports, reorder points and safety stock)."""


@supply.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_app
def supply_import(app: App, path: Path, as_json: bool) -> None:
    """Apply a CSV: sku and any of cost, currency, supplier, lead_time_days, safety_stock (all rows or none)."""
    result = import_supply(app.stock_hub(), path)
    if as_json:
        print_json(result.as_dict())
    else:
        click.echo(f"{result.updated} SKUs updated, {result.unchanged} unchanged")
        for line, message in result.errors:
            click.echo(f"line {line}: {message}", err=True)
    if result.errors:
        click.echo(f"{len(result.errors)} bad rows; nothing was changed", err=True)
        raise click.exceptions.Exit(1)


@supply.command("list")
@click.argument("skus", nargs=-1)
@json_option
@pass_app
def supply_list(app: App, skus: tuple[str, ...], as_json: bool) -> None:
    """Cost, supplier, lead time and safety stock of every SKU (or of SKUS)."""
    with app.ready_hub().db.session() as session:
        rows = supply_rows(session, list(skus) or None)
    if as_json:
        print_json(rows)
        return
    print_table("supply", ["sku", "cost", "supplier", "lead time (days)", "safety stock"],
                ([r["sku"], f"{r['cost']} {r['currency']}" if r["cost"] else "", r["supplier"], r["lead_time_days"],
                  r["safety_stock"]] for r in rows))


commands = [supply]
