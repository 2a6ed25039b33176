"""`marketsync locations list|add|map`: hub locations and which channel locations draw on them."""

from __future__ import annotations

import click

from cli.app import App, json_option, pass_app, print_json, print_table
from sync.hub.accounts import get_account
from sync.hub.audit import audit, current_user
from sync.stock.desired import recompute_accounts
from sync.stock.locations import add_location, list_locations, map_channel_location
from sync.stock.push_queue import schedule_pushes


@click.group()
def locations() -> None:
    """Hub locations (warehouses) and the channel locations mapped to them."""


@locations.command("list")
@json_option
@pass_app
def locations_list(app: App, as_json: bool) -> None:
    """List hub locations with the channel locations mapped to each."""
    hub = app.ready_hub()
    with hub.db.session() as session:
        rows = list_locations(session)
    if as_json:
        print_json(rows)
        return
    print_table("locations", ["code", "name", "channel locations"], (
        [r["code"] or "-", r["name"], ", ".join(f"{c['account']}:{c['channel_location_id']}"
                                                for c in r["channel_locations"])]  # type: ignore[attr-defined]
        for r in rows))


@locations.command("add")
@click.argument("code")
@click.option("--name", default=None, help="A readable name (default: the code).")
@pass_app
def locations_add(app: App, code: str, name: str | None) -> None:
    """Add hub location CODE."""
    hub = app.ready_hub()
    with hub.db.session() as session:
        location = add_location(session, code, name)
        audit(session, current_user(), "location.add", f"location:{location.code}", {"name": location.name})
    click.echo(f"hub location {code} added; map channel locations to it with "
               f"`marketsync locations map ACCOUNT CHANNEL_LOCATION_ID {code}`")


@locations.command("map")
@click.argument("account")
@click.argument("channel_location_id")
@click.argument("hub_code")
@pass_app
def locations_map(app: App, account: str, channel_location_id: str, hub_code: str) -> None:
    """Make ACCOUNT's CHANNEL_LOCATION_ID draw on hub location HUB_CODE (`none`: not used)."""
    hub = app.ready_hub()
    with hub.db.session() as session:
        row = get_account(session, account)
        map_channel_location(session, row.id, channel_location_id, hub_code)
        audit(session, current_user(), "location.map", f"account:{account}:{channel_location_id}",
              {"hub_location": hub_code})
        recompute_accounts(session, [row.id], hub.settings)
        account_id = row.id
    schedule_pushes(hub, [account_id])
    click.echo(f"{account} location {channel_location_id} → {hub_code}")


commands = [locations]
