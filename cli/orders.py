"""`marketsync orders list|show|import`."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cli.app import App, err_console, json_option, pass_app, print_fields, print_json, print_table
from sync.hub.accounts import get_account
from sync.orders.polling import ingest_stream
from sync.orders.views import list_orders, show_order


@click.group()
def orders() -> None:
    """Orders from every channel: list, inspect, backfill."""


@orders.command("list")
@click.option("--account", help="Only this account's orders.")
@click.option("--status", type=click.Choice(["open", "pending", "completed", "cancelled", "refunded"]),
              help="Only orders with this status.")
@click.option("--limit", type=click.IntRange(1, 10000), default=200, show_default=True, help="At most this many.")
@json_option
@pass_app
def orders_list(app: App, account: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """List orders, newest first."""
    hub = app.ready_hub()
    with hub.db.session() as session:
        rows = list_orders(session, account=account, status=status, limit=limit)
    if as_json:
        print_json(rows)
        return
    print_table("orders", ["id", "account", "number", "external id", "status", "total", "placed"],
                ([r["id"], r["account"], r["number"], r["external_id"], r["status"],
                  f"{r['total']} {r['currency']}" if r["total"] else "", r["placed_at"][:19]] for r in rows))


@orders.command("show")
@click.argument("reference", metavar="ID")
@json_option
@pass_app
def orders_show(app: App, reference: str, as_json: bool) -> None:
    """Show one order (ID = hub id, #1001, ACCOUNT:#1001 or ACCOUNT:EXTERNAL_ID): lines, refunds, shipments,
    movements, webhook events."""
    hub = app.ready_hub()
    with hub.db.session() as session:
        data = show_order(session, reference)
    if as_json:
        print_json(data)
        return
    print_fields(f"order {data['number']} ({data['account']}:{data['external_id']})", {
        "hub id": data["id"], "status": data["status"], "total": f"{data['total']} {data['currency']}",
        "placed": data["placed_at"], "channel updated": data["channel_updated_at"],
        "customer": _customer(data["customer"]),
        "webhook events": ", ".join(str(i) for i in data["webhook_events"]) or "none"})
    print_table("lines", ["line", "sku", "qty", "shipped", "cancelled", "refunded", "restocked", "held"],
                ([ln["external_id"], ln["sku"], ln["quantity"], ln["shipped"], ln["cancelled"], ln["refunded"],
                  ln["restocked"], "yes" if ln["held"] else ""] for ln in data["lines"]))
    if data["refunds"]:
        print_table(f"refunds (total {data['refunded_total'] or '?'} {data['currency']})", ["refund", "lines"],
                    ([r["id"], ", ".join(f"{x['sku'] or x['line']}x{x['quantity']}"
                                         + (" restocked" if x["restock"] else "") for x in r["lines"]) or "amount only"]
                     for r in data["refunds"]))
    print_table("shipments", ["id", "carrier", "tracking", "lines", "push", "attempts", "error"],
                ([s["id"], s["carrier"], s["tracking"], ", ".join(f"{x['sku']}x{x['quantity']}" for x in s["lines"]),
                  s["push_status"], s["push_attempts"], s["push_error"] or ""] for s in data["shipments"]))
    print_table("returns", ["id", "sku", "qty", "kind", "status", "reason"],
                ([r["id"], r["sku"], r["quantity"], r["kind"], r["status"], r["reason"]] for r in data["returns"]))
    print_table("movements", ["key", "reason", "on_hand", "committed"],
                ([m["key"], m["reason"], m["on_hand_delta"], m["committed_delta"]] for m in data["movements"]))


def _customer(customer: dict[str, object]) -> str:
    """What the hub holds about the buyer (marketplaces hand out masks only, e.g. 王**)."""
    if customer.get("purged_at"):
        return "(purged)"
    shown = [str(customer[key]) for key in ("name", "email", "country") if customer.get(key)]
    return ", ".join(shown) or "none"


def parse_since(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD or an ISO time)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@orders.command("import")
@click.argument("account")
@click.option("--since", required=True, help="Orders changed since this date (YYYY-MM-DD or ISO time, UTC).")
@json_option
@pass_app
def orders_import(app: App, account: str, since: str, as_json: bool) -> None:
    """Backfill ACCOUNT's orders changed since a date (idempotent; the poll cursor is not moved)."""
    hub = app.ready_hub()
    moment = parse_since(since)
    with hub.db.session() as session:
        account_id = get_account(session, account).id
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} orders"),
               TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True, disable=as_json) as progress:
        task = progress.add_task(f"importing {account} orders", total=None)
        counts = ingest_stream(hub, account_id, moment, move_cursor=False,
                               progress=lambda n: progress.advance(task, n))
    if as_json:
        print_json(counts.as_dict())
        return
    summary = counts.as_dict()
    click.echo(f"{summary['seen']} orders read: {summary['created']} new, {summary['updated']} updated, "
               f"{summary['stale']} unchanged (older), {summary['held_lines']} held lines, "
               f"{summary['skipped']} unreadable")


commands = [orders]
