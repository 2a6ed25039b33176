"""`marketsync alerts`: what needs attention now; `alerts history`, `alerts deliveries`."""

from __future__ import annotations

from typing import Any

import click

from cli.app import App, json_option, pass_app, print_json, print_table
from sync.alerts.conditions import KINDS
from sync.alerts.delivery import deliveries
from sync.alerts.service import evaluate, listed


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    print_table(title, ["id", "kind", "severity", "message", "opened", "closed"],
                ([r["id"], r["kind"], r["severity"], r["message"], r["opened_at"][:16],
                  (r["closed_at"] or "")[:16]] for r in rows))


@click.group(invoke_without_command=True)
@click.option("--kind", type=click.Choice(KINDS), help="Only alerts of this kind.")
@click.option("--no-deliver", is_flag=True, help="Evaluate and list, but send nothing to the destinations.")
@json_option
@click.pass_context
def alerts(ctx: click.Context, kind: str | None, no_deliver: bool, as_json: bool) -> None:
    """Evaluate now and list the open alerts: reorder points, cover, channels out of stock, oversold,
    stock drift, dead stock, failing accounts. Alerts open and close themselves; each condition once."""
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.ensure_object(App)
    hub = app.stock_hub()
    result = evaluate(hub, deliver=not no_deliver)
    rows = listed(hub, kind=kind)
    if as_json:
        print_json({"evaluation": result, "alerts": rows})
        return
    _table(f"open alerts ({result['opened']} opened, {result['closed']} closed just now)", rows)
    sent = result.get("deliveries")
    if sent and any(sent.values()):
        click.echo(f"deliveries: {sent['sent']} sent, {sent['retrying']} to retry, {sent['failed']} failed")


@alerts.command("history")
@click.option("--kind", type=click.Choice(KINDS), help="Only alerts of this kind.")
@click.option("--limit", type=click.IntRange(1, 10000), default=200, show_default=True)
@json_option
@pass_app
def alerts_history(app: App, kind: str | None, limit: int, as_json: bool) -> None:
    """Every alert, open and closed, newest first."""
    rows = listed(app.ready_hub(), status=None, kind=kind, limit=limit)
    if as_json:
        print_json(rows)
    else:
        _table("alert history", rows)


@alerts.command("deliveries")
@click.option("--alert", "alert_id", type=int, help="Only this alert's deliveries.")
@json_option
@pass_app
def alerts_deliveries(app: App, alert_id: int | None, as_json: bool) -> None:
    """What was sent to each destination, with attempts and the last error."""
    rows = deliveries(app.ready_hub(), alert_id)
    if as_json:
        print_json(rows)
        return
    print_table("alert deliveries", ["id", "alert", "destination", "event", "status", "attempts", "last error"],
                ([r["id"], r["alert"], r["destination"], r["event"], r["status"], r["attempts"],
                  r["last_error"] or ""] for r in rows))


commands = [alerts]
