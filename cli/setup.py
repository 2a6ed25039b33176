"""`marketsync init`, `config show` and `status`."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import func, select

from cli.app import App, console, json_option, pass_app, print_fields, print_json, print_table
from store import tables
from store.settings import masked
from sync.hub.failing import failing_accounts
from sync.hub.health import account_states
from sync.stock.oversold import open_oversold


@click.command()
@pass_app
def init(app: App) -> None:
    """Create or upgrade the workspace and its database (safe to run again)."""
    hub = app.hub
    hub.workspace.secret_box(create=True)
    before = hub.db.current_revision() if hub.db.dialect != "sqlite" or hub.workspace.home.exists() else None
    hub.db.upgrade()
    after = hub.db.current_revision()
    state = "up to date" if before == after else f"upgraded {before or 'empty'} → {after}"
    click.echo(f"workspace {hub.workspace.home}: database {state}")


@click.group()
def config() -> None:
    """Inspect the effective settings."""


@config.command("show")
@json_option
@pass_app
def config_show(app: App, as_json: bool) -> None:
    """Print the effective settings, secrets masked."""
    data = masked(app.settings)
    if as_json:
        print_json(data)
        return
    for section, values in data.items():
        if isinstance(values, dict) and values:
            print_fields(f"[{section}]", {k: v for k, v in values.items()})


@click.command()
@json_option
@pass_app
def status(app: App, as_json: bool) -> None:
    """Show the workspace, database, Redis, and what the hub holds."""
    hub = app.ready_hub()
    counts: dict[str, int] = {}
    with hub.db.session() as session:
        for name, table in (("accounts", tables.Account), ("variants", tables.Variant),
                            ("listings", tables.Listing), ("orders", tables.Order),
                            ("open conflicts", tables.Conflict)):
            stmt = select(func.count()).select_from(table)
            if table is tables.Conflict:
                stmt = stmt.where(tables.Conflict.status == "open")
            counts[name] = int(session.scalar(stmt) or 0)
        oversold = open_oversold(session)
    accounts = account_states(hub)
    redis_info = hub.redis.info("server")
    failing = failing_accounts(hub)
    data: dict[str, Any] = {
        "workspace": str(hub.workspace.home), "database": hub.db.dialect, "schema": hub.db.current_revision(),
        "redis": "embedded" if not hub.settings.redis.url else "server",
        "redis_version": redis_info.get("redis_version"), **counts, "oversold": oversold,
        "account_states": accounts, "failing_accounts": failing}
    if as_json:
        print_json(data)
        return
    print_fields("marketsync", {**{k: v for k, v in data.items()
                                   if k not in ("oversold", "account_states", "failing_accounts")},
                                "failing accounts": len(failing)})
    for row in failing:
        click.echo(f"  account {row['account']} ({row['platform']}) failing since {row['since']}: {row['error']}")
    if accounts:
        print_table("accounts", ["account", "state", "last success", "last error", "pending pushes", "failed jobs"],
                    ([a["account"], a["state"], a["last_success_at"] or "never",
                      f"{a['last_error_at']}: {a['last_error']}" if a["last_error"] else "",
                      f"stock {a['pending_stock_pushes']}, shipments {a['pending_shipment_pushes']}",
                      a["failed_jobs"]] for a in accounts))
    for item in oversold:
        orders = ", ".join(item["orders"]) or "no open order"
        console.print(f"[bold red]oversold[/bold red] {item['sku']} at {item['location']}: short "
                      f"{item['shortfall']} (orders {orders}; conflict #{item['conflict']})")


commands = [init, config, status]
