"""`marketsync stock import|adjust|receive|levels|history|explain`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from canonical.quantities import parse_quantity
from cli.app import App, console, json_option, pass_app, print_json, print_table, spinner
from sync.hub.audit import current_user
from sync.stock import operations as service


@click.group()
def stock() -> None:
    """The stock ledger: levels, movements and why each channel shows what it shows."""


@stock.command("import")
@click.option("--from", "account", required=True, metavar="ACCOUNT", help="The account whose levels to take.")
@json_option
@pass_app
def stock_import(app: App, account: str, as_json: bool) -> None:
    """Set the hub's on_hand from ACCOUNT's levels for its mapped listings (a re-run is a no-op)."""
    hub = app.stock_hub()
    with spinner(f"reading stock levels of {account}…"):
        counts = service.import_stock(hub, account)
    if as_json:
        print_json(counts)
        return
    click.echo(f"imported stock from {account}: {counts['applied']} level(s) changed, {counts['unchanged']} "
               f"already right, {counts['repeated']} imported before, {counts['unmapped']} not mapped")


@stock.command("adjust", context_settings={"ignore_unknown_options": True})
@click.argument("sku")
@click.argument("delta", metavar="±N")
@click.option("--location", "location", default="default", show_default=True, help="Hub location code.")
@click.option("--reason", required=True, help="Why (kept in the movement history).")
@click.option("--allow-negative", is_flag=True, help="Accept an on_hand below zero (refused otherwise).")
@pass_app
def stock_adjust(app: App, sku: str, delta: str, location: str, reason: str, allow_negative: bool) -> None:
    """Change SKU's on_hand at a hub location by ±N (e.g. +5 or -2; at most 1,000,000,000 either way)."""
    if not delta.strip().lstrip("+-").isdigit():
        raise click.UsageError(f"±N must be a whole number like +5 or -2 (got {delta!r})")
    amount = parse_quantity(delta, "adjustment")
    hub = app.stock_hub()
    done = service.adjust(hub, sku, amount, location, reason, actor=current_user(), allow_negative=allow_negative)
    click.echo(f"{sku} at {location}: on_hand {amount:+d} → on_hand {done.on_hand}, committed {done.committed}, "
               f"available {done.available} ({done.key})")


@stock.command("receive")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_app
def stock_receive(app: App, file: Path, as_json: bool) -> None:
    """Apply a receipt CSV with columns sku, location, quantity, reference (a re-run is a no-op)."""
    hub = app.stock_hub()
    report = service.receive(hub, file)
    if as_json:
        print_json(report.as_dict())
    else:
        for line, message in report.errors:
            click.echo(f"line {line}: {message}", err=True)
        click.echo(f"received {report.applied} row(s); {report.repeated} already received; "
                   f"{len(report.errors)} invalid")
    if report.errors:
        lines = ", ".join(str(line) for line, _ in report.errors[:10])
        raise service.StockError(f"{len(report.errors)} row(s) of {file} are invalid (lines {lines}); "
                                 "fix them and run it again")


@stock.command("levels")
@click.argument("skus", nargs=-1)
@json_option
@pass_app
def stock_levels(app: App, skus: tuple[str, ...], as_json: bool) -> None:
    """on_hand, committed and available per SKU per hub location (all SKUs, or the SKUS given)."""
    rows = service.levels(app.stock_hub(), skus)
    if as_json:
        print_json(rows)
        return
    print_table("stock levels", ["sku", "location", "on_hand", "committed", "available"],
                ([r["sku"], r["location"], r["on_hand"], r["committed"], r["available"]] for r in rows))


@stock.command("history")
@click.argument("sku")
@json_option
@pass_app
def stock_history(app: App, sku: str, as_json: bool) -> None:
    """Every movement of SKU, newest first, with reason, source and reference."""
    rows = service.history(app.stock_hub(), sku)
    if as_json:
        print_json(rows)
        return
    print_table(f"history of {sku}", ["at", "location", "on_hand", "committed", "reason", "source", "reference"],
                ([r["at"], r["location"], f"{r['on_hand_delta']:+d}", f"{r['committed_delta']:+d}", r["reason"],
                  r["source"], r["reference"]] for r in rows))


def _print_explain(data: dict[str, Any]) -> None:
    console.print(f"[bold]{data['sku']}[/bold]")
    for loc in data["locations"]:
        console.print(f"  {loc['location']}: on_hand {loc['on_hand']} - committed {loc['committed']} "
                      f"= {loc['available']}")
    for order in data["open_orders"]:
        console.print(f"  committed by {order['account']} order {order['order']}: {order['quantity']}")
    if data["kit_components"]:
        console.print("  a kit of " + ", ".join(f"{c['sku']} x {c['per_kit']}" for c in data["kit_components"])
                      + "; its own stock is not counted")
    if data["used_in_kits"]:
        console.print(f"  used in kit(s) {', '.join(data['used_in_kits'])}")
    if not data["accounts"]:
        console.print("  no mapped listing on any account")
    for account in data["accounts"]:
        console.print(f"[bold]{account['account']}[/bold] (listing {account['listing']}, locations "
                      f"{', '.join(account['locations'])}; safety stock {account['safety_stock']['value']} "
                      f"from {account['safety_stock']['source']})")
        for share in account["kit"]:
            mark = "  ← limiting" if share["sku"] == account["limiting"] else ""
            console.print(f"  component {share['sku']}: available {share['available']} ÷ {share['per_kit']} "
                          f"= {share['kits']} kit(s){mark}")
        for step in account["steps"]:
            console.print(f"  {step['rule']:<13} {step['before']:>6} → {step['after']:<6} {step['detail']}")
        when = account["acknowledged_at"] or "never"
        state = "push pending" if account["push_pending"] else "in sync"
        console.print(f"  published {account['published']}; channel acknowledged {account['acknowledged']} "
                      f"at {when} ({state})")


@stock.command("explain")
@click.argument("sku")
@click.option("--account", default=None, help="Only this account.")
@json_option
@pass_app
def stock_explain(app: App, sku: str, account: str | None, as_json: bool) -> None:
    """Why each channel shows what it shows for SKU: levels, open orders, safety stock, each rule."""
    data = service.explain(app.stock_hub(), sku, account)
    if as_json:
        print_json(data)
    else:
        _print_explain(data)


commands = [stock]
