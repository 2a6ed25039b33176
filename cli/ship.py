"""`marketsync ship ORDER …`, `ship import FILE.csv | --from ACCOUNT`, `ship push`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.app import App, json_option, pass_app, print_json
from store import tables
from sync.hub.audit import current_user
from sync.orders.shipment_import import import_csv, import_from_source
from sync.orders.shipment_queue import enqueue_push, push_now
from sync.orders.shipments import ShipmentError, create_shipment, order_lines
from sync.orders.views import resolve_order
from sync.stock.change import stock_change


class ShipGroup(click.Group):
    """`ship ORDER …` records a shipment; `ship import|push …` are subcommands."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                                list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        return super().resolve_command(ctx, args)


def parse_lines(values: tuple[str, ...]) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for value in values:
        sku, sep, qty = value.rpartition(":")
        if not sep or not sku or not qty.isdigit() or int(qty) < 1:
            raise click.BadParameter(f"--line {value!r} must look like SKU:QTY with QTY >= 1")
        wanted[sku] = wanted.get(sku, 0) + int(qty)
    return wanted


def lines_by_sku(session: Session, order: tables.Order, wanted: dict[str, int]) -> list[tuple[tables.OrderLine, int]]:
    """The order's lines for `wanted`, each SKU matched as the channel spells it or as the hub's SKU."""
    lines = order_lines(session, order)
    hub_skus: dict[int, str] = {int(i): str(sku) for i, sku in session.execute(
        select(tables.Variant.id, tables.Variant.sku).where(
            tables.Variant.id.in_([line.variant_id for line in lines if line.variant_id])))}
    by_sku: dict[str, tables.OrderLine] = {}
    for line in lines:
        if line.variant_id is not None and line.variant_id in hub_skus:
            by_sku.setdefault(hub_skus[line.variant_id], line)
        if line.sku:
            by_sku.setdefault(line.sku, line)
    unknown = [sku for sku in wanted if sku not in by_sku]
    if unknown:
        raise ShipmentError(f"order {order.number or order.external_id} has no line with SKU {', '.join(unknown)}; "
                            f"its SKUs: {', '.join(sorted(by_sku))}")
    return [(by_sku[sku], qty) for sku, qty in wanted.items()]


@click.group(cls=ShipGroup)
def ship() -> None:
    """Record shipments and push their tracking to the order's channel (exactly once).

    \b
    marketsync ship ORDER --carrier C --tracking N [--url U] [--line SKU:QTY …]
    marketsync ship import FILE.csv | --from ACCOUNT
    marketsync ship push [SHIPMENT_ID …]
    """


@ship.command("create", hidden=True)
@click.argument("reference", metavar="ORDER")
@click.option("--carrier", required=True, help="Carrier name, e.g. UPS.")
@click.option("--tracking", required=True, help="Tracking number.")
@click.option("--url", help="Tracking URL.")
@click.option("--line", "line_specs", multiple=True, metavar="SKU:QTY",
              help="Ship QTY of SKU (repeatable); default: every line's remaining units.")
@json_option
@pass_app
def ship_create(app: App, reference: str, carrier: str, tracking: str, url: str | None,
                line_specs: tuple[str, ...], as_json: bool) -> None:
    """Ship ORDER (hub id, #1001, ACCOUNT:#1001 or ACCOUNT:EXTERNAL_ID); --line takes the hub's SKU or the
    channel's."""
    hub = app.ready_hub()
    wanted = parse_lines(line_specs)
    with stock_change(hub) as change:
        session = change.session
        order = resolve_order(session, reference)
        items = None
        if wanted:
            items = lines_by_sku(session, order, wanted)
        shipment, created = create_shipment(change, order, items, carrier=carrier, tracking=tracking, url=url,
                                            source=f"cli:{current_user()}")
        result: dict[str, Any] = {"shipment": shipment.id, "created": created, "push_status": shipment.push_status}
    if created:
        enqueue_push(hub, shipment.id)
    if as_json:
        print_json(result)
    elif created:
        click.echo(f"shipment {shipment.id} recorded; its push to the channel is queued "
                   f"(see `marketsync orders show {reference}`)")
    else:
        click.echo(f"shipment {shipment.id} was already recorded (push: {shipment.push_status}); nothing changed")


@ship.command("import")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--from", "source", metavar="ACCOUNT", help="Import from a fulfilment-source account instead.")
@json_option
@pass_app
def ship_import(app: App, file: Path | None, source: str | None, as_json: bool) -> None:
    """Import shipments from FILE.csv (order,sku,quantity,carrier,tracking,url) or --from ACCOUNT."""
    if bool(file) == bool(source):
        raise click.UsageError("give either FILE.csv or --from ACCOUNT")
    hub = app.ready_hub()
    report = import_csv(hub, file, actor=current_user()) if file else import_from_source(hub, str(source))
    if as_json:
        print_json(report.as_dict())
    else:
        click.echo(f"{len(report.created)} shipments recorded, {len(report.unchanged)} already known, "
                   f"{len(report.errors)} problems")
        for error in report.errors:
            click.echo(f"  {error}", err=True)
    if report.errors:
        raise click.exceptions.Exit(2)


@ship.command("push")
@click.argument("shipment_ids", nargs=-1, type=int)
@pass_app
def ship_push(app: App, shipment_ids: tuple[int, ...]) -> None:
    """Push the given shipments now (failed or refused ones again), or every pending and failed one."""
    hub = app.ready_hub()
    queued = push_now(hub, shipment_ids or None)
    click.echo(f"queued {queued} shipment push(es)")


commands = [ship]
