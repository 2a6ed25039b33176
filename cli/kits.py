"""`marketsync kits define|import|list|show|remove`: bundles sold as one SKU, stocked as their components."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.app import App, console, json_option, pass_app, print_json, print_table
from sync.hub.audit import current_user
from sync.stock import kit_definitions as service


@click.group()
def kits() -> None:
    """Kits: a SKU made of other SKUs; its stock on every channel is what its components allow."""


def _print_kit(data: dict[str, Any]) -> None:
    parts = ", ".join(f"{c['sku']} x {c['quantity']}" for c in data["components"])
    console.print(f"[bold]{data['kit']}[/bold] = {parts}")
    if data["leaves"] != data["components"]:
        console.print("  stocked as " + ", ".join(f"{c['sku']} x {c['quantity']}" for c in data["leaves"]))
    if data["used_by"]:
        console.print(f"  used in {', '.join(data['used_by'])}")
    if data["open_lines"]:
        console.print(f"  {data['open_lines']} open order line(s) hold its components")
    for account in data["accounts"]:
        limiting = f" (limited by {account['limiting']})" if account["limiting"] else ""
        console.print(f"  {account['account']}: publishes {account['published']}{limiting}")
    if not data["accounts"]:
        console.print("  no mapped listing on any account (or its components have no stock in the hub yet)")


@kits.command("define")
@click.argument("kit")
@click.option("--component", "components", multiple=True, required=True, metavar="SKU:QTY",
              help="A component and the units of it in one kit; repeat for each component.")
@json_option
@pass_app
def kits_define(app: App, kit: str, components: tuple[str, ...], as_json: bool) -> None:
    """Make KIT (an existing SKU) a kit of the given components, or replace its recipe."""
    parsed = [service.parse_component(text) for text in components]
    data = service.define(app.stock_hub(), kit, parsed, actor=current_user())
    if as_json:
        print_json(data)
        return
    if not data["changed"]:
        click.echo(f"kit {data['kit']} already has this recipe")
    _print_kit(data)


@kits.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_app
def kits_import(app: App, file: Path, as_json: bool) -> None:
    """Define the kits of a CSV with columns kit, component, quantity (one row per component; all or none)."""
    result = service.import_csv(app.stock_hub(), file, actor=current_user())
    if as_json:
        print_json(result.as_dict())
    else:
        for line, message in result.errors:
            click.echo(f"line {line}: {message}", err=True)
        if not result.errors:
            click.echo(f"{result.defined} kit(s) defined, {result.unchanged} unchanged")
    if result.errors:
        click.echo(f"{len(result.errors)} bad row(s) in {file}; no kit was changed", err=True)
        raise click.exceptions.Exit(1)


@kits.command("list")
@json_option
@pass_app
def kits_list(app: App, as_json: bool) -> None:
    """Every kit and its components."""
    rows = service.kit_list(app.ready_hub())
    if as_json:
        print_json(rows)
        return
    print_table("kits", ["kit", "components"],
                ([r["kit"], ", ".join(f"{c['sku']} x {c['quantity']}" for c in r["components"])] for r in rows))


@kits.command("show")
@click.argument("kit")
@json_option
@pass_app
def kits_show(app: App, kit: str, as_json: bool) -> None:
    """KIT's components, the kits using it, and what each account publishes (with the limiting component)."""
    data = service.show(app.stock_hub(), kit)
    if as_json:
        print_json(data)
    else:
        _print_kit(data)


@kits.command("remove")
@click.argument("kit")
@click.option("--component", default=None, metavar="SKU", help="Remove only this component from KIT.")
@json_option
@pass_app
def kits_remove(app: App, kit: str, component: str | None, as_json: bool) -> None:
    """Remove KIT (it becomes a plain SKU with no stock) or one of its components."""
    data = service.remove(app.stock_hub(), kit, component=component, actor=current_user())
    if as_json:
        print_json(data)
    elif component:
        click.echo(f"removed {data['removed']} from kit {data['kit']}")
    else:
        click.echo(f"kit {data['kit']} removed; it is a plain SKU again (with no stock in the hub)")


commands = [kits]
