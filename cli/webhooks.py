"""`marketsync webhooks register|list|replay`."""

from __future__ import annotations

from typing import Any

import click
from rich.progress import Progress
from sqlalchemy import func, select

from cli.app import App, err_console, json_option, pass_app, print_json, print_table
from cli.orders import parse_since
from connectors.errors import ConnectorError
from store import tables
from sync.hub.accounts import get_account
from sync.orders.events import fail_event, process_event
from sync.orders.privacy import REDACTED
from sync.orders.reads import hand_over
from sync.service.processes import webhook_url


@click.group()
def webhooks() -> None:
    """Channel webhook subscriptions and the events the hub stored."""


@webhooks.command("register")
@click.argument("account")
@click.option("--url", required=True, help="Public base URL of `marketsync serve`, e.g. https://hub.example.com.")
@pass_app
def webhooks_register(app: App, account: str, url: str) -> None:
    """Subscribe ACCOUNT's order webhooks to URL + /webhooks/{platform}/{account}."""
    hub = app.ready_hub()
    with hub.db.session() as session:
        row = get_account(session, account)
    target = webhook_url(url, row.platform, row.name)
    connector = hub.connector(row)
    try:
        subscriptions = connector.register_webhooks(target)
    finally:
        connector.close()
    click.echo(f"{len(subscriptions)} subscription(s) deliver to {target}: "
               f"{', '.join(s.topic for s in subscriptions)}")


def _counts(session: Any, account_id: int) -> dict[str, int]:
    rows = session.execute(select(tables.WebhookEvent.status, func.count()).where(
        tables.WebhookEvent.account_id == account_id).group_by(tables.WebhookEvent.status)).all()
    return {str(status): int(count) for status, count in rows}


@webhooks.command("list")
@click.option("--account", help="Only this account.")
@json_option
@pass_app
def webhooks_list(app: App, account: str | None, as_json: bool) -> None:
    """Each account's subscriptions on the channel and its stored events by status."""
    hub = app.ready_hub()
    with hub.db.session() as session:
        accounts = [get_account(session, account)] if account else list(
            session.scalars(select(tables.Account).order_by(tables.Account.name)))
        counts = {a.id: _counts(session, a.id) for a in accounts}
    result = []
    for row in accounts:
        entry: dict[str, Any] = {"account": row.name, "platform": row.platform, "events": counts[row.id]}
        connector = hub.connector(row)
        try:
            entry["subscriptions"] = [s.__dict__ for s in connector.list_webhooks()]
        except Exception as exc:  # one unreachable channel must not hide the others
            entry["subscriptions"], entry["error"] = [], str(exc).splitlines()[0]
        finally:
            connector.close()
        result.append(entry)
    if as_json:
        print_json(result)
        return
    print_table("webhooks", ["account", "topic", "url", "events"],
                ([e["account"], s["topic"], s["url"], ", ".join(f"{k}={v}" for k, v in sorted(e["events"].items()))]
                 for e in result for s in (e["subscriptions"] or [{"topic": e.get("error", "-"), "url": ""}])))


@webhooks.command("replay")
@click.option("--account", help="Only this account's events.")
@click.option("--since", help="Only events received since this date (YYYY-MM-DD or ISO time, UTC).")
@click.option("--enqueue", is_flag=True, help="Hand the events to the workers instead of running them here.")
@pass_app
def webhooks_replay(app: App, account: str | None, since: str | None, enqueue: bool) -> None:
    """Run stored events through the event job again (idempotent: nothing is counted twice)."""
    hub = app.ready_hub()
    with hub.db.session() as session:
        stmt = select(tables.WebhookEvent.id).where(tables.WebhookEvent.payload != REDACTED) \
            .order_by(tables.WebhookEvent.id)
        if account:
            stmt = stmt.where(tables.WebhookEvent.account_id == get_account(session, account).id)
        if since:
            stmt = stmt.where(tables.WebhookEvent.received_at >= parse_since(since))
        ids = [int(i) for i in session.scalars(stmt)]
    if enqueue:
        click.echo(f"handed {hand_over(hub, ids)} event(s) to their accounts' read jobs")
        return
    outcomes: dict[str, int] = {}
    with Progress(console=err_console, transient=True) as progress:
        for event_id in progress.track(ids, description="replaying events"):
            try:
                status = process_event(hub, event_id)
            except ConnectorError as exc:  # kept on the event; the poll catches up
                status = fail_event(hub, event_id, f"{type(exc).__name__}: {str(exc).splitlines()[0][:500]}")
            outcomes[status] = outcomes.get(status, 0) + 1
    click.echo(f"replayed {len(ids)} event(s): " + (", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
                                                    or "none"))


commands = [webhooks]
