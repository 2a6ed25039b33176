"""`marketsync run` (everything on one machine), `marketsync scheduler` and `marketsync sync --once`."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from cli.app import App, json_option, pass_app, print_json, print_table, spinner
from sync.service.cycle import account_ids, outbound_changes, sync_once
from sync.service.processes import start_webserver, supervised_workers
from sync.service.scheduler import build_scheduler

# How long `marketsync run` lets the workers' current jobs finish, all together, before killing them
# (jobs are idempotent and the database holds their work: a killed job is simply redone).
RUN_SHUTDOWN_GRACE_S = 20.0


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


@click.command()
@click.option("--workers", "count", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: workers.count).")
@click.option("--no-webhooks", is_flag=True, help="Do not start the webhook server.")
@pass_app
def run(app: App, count: int | None, no_webhooks: bool) -> None:
    """Run everything on this machine: scheduler, workers and webhook server, until Ctrl-C."""
    hub = app.stock_hub()
    count = count or hub.settings.workers.count
    stop = threading.Event()
    _stop_on_signals(stop)
    web = None if no_webhooks else start_webserver(hub)  # a port in use fails here, before any worker starts
    supervisor = supervised_workers(hub, count)
    watcher = threading.Thread(target=supervisor.run, args=(stop,), name="supervisor", daemon=True)
    watcher.start()
    where = f"; webhooks on {hub.settings.webhooks.host}:{hub.settings.webhooks.port}" if web else ""
    click.echo(f"marketsync running: {count} worker(s), scheduler{where}. Ctrl-C stops.")
    try:
        build_scheduler(hub).run(stop)
    finally:
        stop.set()
        click.echo("stopping: workers finish their current job…")
        if web is not None:
            web[0].should_exit = True
            web[1].join(timeout=10)
        supervisor.stop(grace_s=RUN_SHUTDOWN_GRACE_S)
        click.echo("stopped")


@click.command()
@pass_app
def scheduler(app: App) -> None:
    """Run only the scheduler (order polls, reconciliation, sweeps) for a scaled-out setup."""
    hub = app.stock_hub()
    stop = threading.Event()
    _stop_on_signals(stop)
    click.echo("scheduler running; Ctrl-C stops")
    build_scheduler(hub).run(stop)
    click.echo("scheduler stopped")


@click.command("sync")
@click.option("--once", is_flag=True, required=True, help="Run one full cycle and wait for it (required).")
@click.option("--account", "accounts", multiple=True, help="Only this account (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print the outbound changes; send and change nothing.")
@json_option
@pass_app
def sync_command(app: App, once: bool, accounts: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Poll orders, recompute and push stock for every account once (or show it with --dry-run)."""
    hub = app.stock_hub()
    if dry_run:
        changes = outbound_changes(hub, account_ids(hub, list(accounts) or None))
        if as_json:
            print_json({"dry_run": True, "changes": changes})
            return
        print_table("outbound stock changes (dry run: nothing sent)", ["account", "listing", "sku", "from", "to"],
                    ([c["account"], c["listing"], c["sku"], c["from"], c["to"]] for c in changes))
        return
    with spinner("syncing…"):
        rows = sync_once(hub, list(accounts) or None)
    if as_json:
        print_json({"dry_run": False, "accounts": rows})
    else:
        print_table("sync", ["account", "sent", "write calls", "failed", "still pending", "result"],
                    ([r["account"], r["sent"], r["calls"], r["failed"], r["still_pending"],
                      "ok" if r["ok"] else "; ".join(r["errors"]) or "failed"] for r in rows))
    failing = [r["account"] for r in rows if not r["ok"]]
    if failing:
        click.echo(f"error: {len(failing)} of {len(rows)} account(s) failed: {', '.join(failing)} "
                   "(`marketsync status` shows each account's last error)", err=True)
        raise click.exceptions.Exit(1)


commands = [run, scheduler, sync_command]
