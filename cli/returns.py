"""`marketsync returns`: after-sales as a flow — create, receive, inspect, restock or write off, exchange."""

from __future__ import annotations

import getpass
from typing import Any

import click

from cli.app import App, json_option, pass_app, print_fields, print_json, print_table
from sync.aftersales import service


def _actor() -> str:
    return getpass.getuser()


def _show(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(data)
        return
    print_fields(f"return {data['id']}", {
        "order": data["order_id"], "sku": f"{data['sku']} x{data['quantity']}", "kind": data["kind"],
        "status": data["status"], "reason": data["reason"] or "-", "source": data["source"],
        "replacement": f"{data['replacement_sku']} ({data['replacement']})" if data["replacement_sku"] else "-"})
    print_table("history", ["step", "at", "by", "note"],
                ([h["step"], h["at"][:19], h["actor"], h["note"]] for h in data["history"]))
    if "movements" in data:
        print_table("movements", ["key", "reason", "on_hand", "committed"],
                    ([m["key"], m["reason"], m["on_hand_delta"], m["committed_delta"]] for m in data["movements"]))


@click.group()
def returns() -> None:
    """Returns, exchanges and refunds: request → received → inspected → restocked or written off."""


@returns.command("create")
@click.argument("order", metavar="ORDER")
@click.option("--line", "line", required=True, metavar="SKU:QTY", help="The order line's SKU and the units back.")
@click.option("--reason", default="", help="Why the buyer sends it back (the report groups by it).")
@click.option("--refund-only", is_flag=True, help="Money back, the goods stay with the buyer: no stock moves.")
@click.option("--exchange-for", metavar="SKU", help="An exchange: hold this SKU as the replacement.")
@click.option("--reference", help="An RMA or parcel reference: the same reference twice is one return.")
@json_option
@pass_app
def returns_create(app: App, order: str, line: str, reason: str, refund_only: bool, exchange_for: str | None,
                   reference: str | None, as_json: bool) -> None:
    """Open a return for ORDER (hub id or ACCOUNT:EXTERNAL_ID)."""
    sku, _, raw = line.rpartition(":")
    if not sku or not raw.isdigit():
        raise click.BadParameter(f"{line!r} is not SKU:QTY (e.g. MS-0001-1:1)", param_hint="--line")
    data = service.create_return(app.stock_hub(), order, sku, int(raw), reason=reason, actor=_actor(),
                                 refund_only=refund_only, exchange_for=exchange_for, reference=reference)
    _show(data, as_json)


def _step_command(name: str, step: str, help_text: str, *, location: bool = False, reason: bool = False) -> Any:
    @click.argument("return_id", metavar="ID", type=int)
    @click.option("--note", default="", help="What was seen or decided (kept in the history).")
    @json_option
    @pass_app
    def command(app: App, return_id: int, note: str, as_json: bool, **extra: Any) -> None:
        text = extra.get("reason") or note
        data = service.take_step(app.stock_hub(), return_id, step, actor=_actor(), note=text,
                                 location=extra.get("location"))
        _show(data, as_json)
        if not data["moved"] and not as_json:
            click.echo(f"return {return_id} was already {step}: nothing changed")

    if location:
        command = click.option("--location", help="Hub location to sell it from again (default: where it sold).")(
            command)
    if reason:
        command = click.option("--reason", required=True, help="Why it cannot be sold again.")(command)
    command.__doc__ = help_text
    return returns.command(name)(command)


_step_command("receive", "received", "The goods arrived: into the returns location (not sold until restocked).")
_step_command("inspect", "inspected", "Inspected: record what was found (--note).")
_step_command("restock", "restocked", "Back to stock: sold again on every channel.", location=True)
_step_command("write-off", "written_off", "Cannot be sold again: leaves stock, with the reason.", reason=True)
_step_command("close", "closed", "Withdrawn before the goods came back: nothing moves.")


@returns.command("ship-replacement")
@click.argument("return_id", metavar="ID", type=int)
@json_option
@pass_app
def returns_ship_replacement(app: App, return_id: int, as_json: bool) -> None:
    """An exchange's replacement leaves the warehouse (its held unit ships)."""
    _show(service.ship_replacement(app.stock_hub(), return_id, actor=_actor()), as_json)


@returns.command("list")
@click.option("--status", type=click.Choice(["requested", "received", "inspected", "restocked", "written_off",
                                             "refunded", "closed"]), help="Only returns in this status.")
@click.option("--order", "order", help="Only this order's returns.")
@json_option
@pass_app
def returns_list(app: App, status: str | None, order: str | None, as_json: bool) -> None:
    """Returns, newest first."""
    rows = service.list_returns(app.ready_hub(), status=status, order_reference=order)
    if as_json:
        print_json(rows)
        return
    print_table("returns", ["id", "order", "sku", "qty", "kind", "status", "reason", "source"],
                ([r["id"], r["order_id"], r["sku"], r["quantity"], r["kind"], r["status"], r["reason"], r["source"]]
                 for r in rows))


@returns.command("show")
@click.argument("return_id", metavar="ID", type=int)
@json_option
@pass_app
def returns_show(app: App, return_id: int, as_json: bool) -> None:
    """One return: its steps, who took them, and its ledger movements."""
    _show(service.show_return(app.ready_hub(), return_id), as_json)


commands = [returns]
