"""`marketsync run` (everything on one machine), `marketsync scheduler` and `marketsync sync --once`."""

from __future__ import annotations

import importlib
import signal
import subprocess
import sys
import threading
from types import FrameType
from typing import Any

import click

from cli.app import App, console, json_option, pass_app, print_json, print_table
from mapping.quantity import validate_overrides
from sync.context import Hub
from sync.cycle import account_ids, outbound_changes, sync_once
from sync.scheduler import build_scheduler, has_function
from sync.workers import worker_environment

SHUTDOWN_GRACE_S = 60.0


def _ready(app: App) -> Hub:
    hub = app.ready_hub()
    validate_overrides(hub.settings.accounts, hub.settings.skus)
    return hub


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def start_workers(hub: Hub, count: int) -> list[subprocess.Popen[bytes]]:
    """Worker processes in their own session: a terminal's Ctrl-C reaches only us, and we forward
    one SIGTERM each (RQ's warm shutdown: the current job finishes)."""
    env = worker_environment(hub.redis)
    args = [sys.executable, "-m", "cli.main", "worker", "--count", "1"]
    return [subprocess.Popen(args, env=env, start_new_session=True) for _ in range(count)]


def stop_workers(processes: list[subprocess.Popen[bytes]], grace_s: float = SHUTDOWN_GRACE_S) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_webserver(hub: Hub) -> tuple[Any, threading.Thread] | None:
    """The webhook server from `sync.webserver.build_app(hub)`, in a thread (None when not installed)."""
    if not has_function("sync.webserver.build_app"):
        return None
    import uvicorn

    application = importlib.import_module("sync.webserver").build_app(hub)
    config = uvicorn.Config(application, host=hub.settings.webhooks.host, port=hub.settings.webhooks.port,
                            log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="webhooks", daemon=True)
    thread.start()
    return server, thread


@click.command()
@click.option("--workers", "count", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: workers.count).")
@click.option("--no-webhooks", is_flag=True, help="Do not start the webhook server.")
@pass_app
def run(app: App, count: int | None, no_webhooks: bool) -> None:
    """Run everything on this machine: scheduler, workers and webhook server, until Ctrl-C."""
    hub = _ready(app)
    count = count or hub.settings.workers.count
    stop = threading.Event()
    _stop_on_signals(stop)
    processes = start_workers(hub, count)
    web = None if no_webhooks else start_webserver(hub)
    where = f"; webhooks on {hub.settings.webhooks.host}:{hub.settings.webhooks.port}" if web else ""
    click.echo(f"marketsync running: {count} worker(s), scheduler{where}. Ctrl-C stops.")
    try:
        build_scheduler(hub).run(stop)
    finally:
        click.echo("stopping: workers finish their current job…")
        if web is not None:
            web[0].should_exit = True
            web[1].join(timeout=10)
        stop_workers(processes)
        click.echo("stopped")


@click.command()
@pass_app
def scheduler(app: App) -> None:
    """Run only the scheduler (order polls, reconciliation, sweeps) for a scaled-out setup."""
    hub = _ready(app)
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
    hub = _ready(app)
    if dry_run:
        changes = outbound_changes(hub, account_ids(hub, list(accounts) or None))
        if as_json:
            print_json({"dry_run": True, "changes": changes})
            return
        print_table("outbound stock changes (dry run: nothing sent)", ["account", "listing", "sku", "from", "to"],
                    ([c["account"], c["listing"], c["sku"], c["from"], c["to"]] for c in changes))
        return
    with console.status("syncing…"):
        rows = sync_once(hub, list(accounts) or None)
    if as_json:
        print_json({"dry_run": False, "accounts": rows})
        return
    print_table("sync", ["account", "sent", "write calls", "failed", "still pending"],
                ([r["account"], r["sent"], r["calls"], r["failed"], r["still_pending"]] for r in rows))


commands = [run, scheduler, sync_command]
