"""`marketsync privacy purge`."""

from __future__ import annotations

import click

from cli.app import App, json_option, pass_app, print_json
from sync.hub.audit import current_user
from sync.orders.privacy import purge


@click.group()
def privacy() -> None:
    """Personal data the hub keeps (customer name, email, country) and its removal."""


@privacy.command("purge")
@click.option("--older-than", "days", type=click.IntRange(0), default=None,
              help="Purge orders placed more than DAYS ago (default: privacy.purge_after_days).")
@json_option
@pass_app
def privacy_purge(app: App, days: int | None, as_json: bool) -> None:
    """Remove personal fields of old orders and the raw payloads of old webhook events (audited)."""
    hub = app.ready_hub()
    result = purge(hub, older_than_days=days, actor=current_user())
    if as_json:
        print_json(result.__dict__)
        return
    click.echo(f"purged {result.orders} orders and {result.events} webhook payloads placed/received before "
               f"{result.cutoff}")


commands = [privacy]
