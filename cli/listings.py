"""`marketsync listings push`: create missing listings and sync listing fields, with --dry-run."""

from __future__ import annotations

import click

from cli.app import App, json_option, pass_app, print_json, print_table
from cli.catalog import counting
from sync.catalog.push import ListingPlan, push_listings, summary
from sync.hub.audit import current_user


@click.group()
def listings() -> None:
    """Channel listings: push titles, prices, barcodes and status; create missing ones."""


@listings.command("push")
@click.option("--account", "accounts", multiple=True, help="Only this account (repeatable; default: all).")
@click.option("--sku", "skus", multiple=True, help="Only this SKU (repeatable).")
@click.option("--dry-run", is_flag=True, help="Show the diff per listing (channel → hub) and send nothing.")
@json_option
@pass_app
def listings_push(app: App, accounts: tuple[str, ...], skus: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Create missing listings where publishing is on and update changed fields by each account's rules."""
    hub = app.ready_hub()
    with counting("reading listings and planning"):
        plans = push_listings(hub, accounts or None, skus=skus or None, dry_run=dry_run, actor=current_user())
    if as_json:
        print_json({"dry_run": dry_run, "counts": summary(plans), "listings": [p.as_dict() for p in plans]})
    else:
        _print_plans(plans, dry_run)
    broken = [p for p in plans if p.op == "error" and not p.sku]
    if broken:
        click.echo(f"error: {len(broken)} account(s) could not be pushed: "
                   + "; ".join(p.note for p in broken), err=True)
        raise click.exceptions.Exit(1)


def _print_plans(plans: list[ListingPlan], dry_run: bool) -> None:
    shown = [p for p in plans if p.op != "unchanged"]
    title = f"listing push{' (dry run: nothing sent)' if dry_run else ''}: " + \
        ", ".join(f"{k} {v}" for k, v in sorted(summary(plans).items()))
    print_table(title, ["account", "sku", "op", "changes (channel → hub)", "note"],
                ([p.account, p.sku, p.op,
                  "; ".join(f"{c.field}: {c.channel!r} → {c.hub!r} ({c.action})" for c in p.changes), p.note]
                 for p in shown))


commands = [listings]
