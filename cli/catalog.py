"""`marketsync catalog import|refresh|list|show`: the canonical catalogue and its listings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from canonical import normalised_sku
from cli.app import App, err_console, json_option, pass_app, print_fields, print_json, print_table
from store import tables
from sync.catalog.importing import enqueue_import, enqueue_refresh, import_catalog, refresh_listings
from sync.hub.accounts import get_account
from sync.hub.audit import current_user
from sync.hub.context import Hub


@contextmanager
def counting(what: str) -> Iterator[Callable[[int], None] | None]:
    """A spinner with a running count on stderr; None when stderr is not a terminal (a disabled
    rich progress still cost ~3 µs a record to update: 0.075 of a 20,000-variant import's CPU-s)."""
    if not err_console.is_terminal:
        yield None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed}"),
                  TimeElapsedColumn(), console=err_console, transient=True) as progress:
        task = progress.add_task(what, total=None)
        yield lambda n: progress.update(task, completed=n)


def queue_for(hub: Hub, account: str, enqueue: Callable[[Hub, int], str], as_json: bool) -> None:
    """Put ACCOUNT's catalogue job on the catalog queue and say its job id."""
    with hub.db.session() as session:
        account_id = get_account(session, account).id
    job_id = enqueue(hub, account_id)
    if as_json:
        print_json({"queued": job_id})
    else:
        click.echo(f"queued {job_id}")


def print_counts(title: str, counts: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(counts)
    else:
        print_fields(title, counts)


@click.group()
def catalog() -> None:
    """The canonical catalogue: import it from an account, refresh listings, look things up."""


@catalog.command("import")
@click.option("--from", "account", required=True, metavar="ACCOUNT", help="Account to read products from.")
@click.option("--queue", "queued", is_flag=True, help="Enqueue it on the catalog queue instead of running now.")
@json_option
@pass_app
def catalog_import(app: App, account: str, queued: bool, as_json: bool) -> None:
    """Build or update the catalogue (keyed by SKU) from ACCOUNT, then refresh its listings."""
    hub = app.ready_hub()
    if queued:
        queue_for(hub, account, enqueue_import, as_json)
        return
    with counting(f"reading products of {account}") as progress:
        counts = import_catalog(hub, account, actor=current_user(), progress=progress)
    print_counts(f"catalogue imported from {account}", counts, as_json)


@catalog.command("refresh")
@click.argument("account")
@click.option("--queue", "queued", is_flag=True, help="Enqueue it on the catalog queue instead of running now.")
@json_option
@pass_app
def catalog_refresh(app: App, account: str, queued: bool, as_json: bool) -> None:
    """Read ACCOUNT's listings, match them to variants, and open or close conflicts."""
    hub = app.ready_hub()
    if queued:
        queue_for(hub, account, enqueue_refresh, as_json)
        return
    with counting(f"reading listings of {account}") as progress:
        counts = refresh_listings(hub, account, actor=current_user(), progress=progress)
    print_counts(f"listings of {account} refreshed", counts, as_json)
    if counts.get("opened") and not as_json:  # --json prints JSON only
        click.echo("see them with `marketsync conflicts list`")


def variant_rows(session: Session) -> list[dict[str, Any]]:
    listed = dict(session.execute(select(tables.Listing.variant_id, func.count()).where(
        tables.Listing.variant_id.is_not(None)).group_by(tables.Listing.variant_id)).all())
    rows = session.execute(select(tables.Variant, tables.Product).join(tables.Product)
                           .order_by(tables.Variant.sku))
    return [{"sku": v.sku, "product": p.title, "variant": v.title, "barcode": v.barcode,
             "price": str(v.price) if v.price is not None else None, "currency": v.currency,
             "status": p.status, "listings": int(listed.get(v.id, 0))} for v, p in rows]


@catalog.command("list")
@json_option
@pass_app
def catalog_list(app: App, as_json: bool) -> None:
    """List the catalogue's variants and how many listings each has."""
    with app.ready_hub().db.session() as session:
        rows = variant_rows(session)
    if as_json:
        print_json(rows)
        return
    print_table(f"catalogue ({len(rows)} variants)", ["sku", "product", "variant", "barcode", "price", "status",
                                                      "listings"],
                ([r["sku"], r["product"], r["variant"], r["barcode"], f"{r['price'] or ''} {r['currency'] or ''}",
                  r["status"], r["listings"]] for r in rows))


def listing_rows(session: Session, variant: tables.Variant) -> list[dict[str, Any]]:
    """Every listing of the variant: linked ones, and unlinked ones with its SKU or barcode."""
    candidates = or_(tables.Listing.variant_id == variant.id,
                     func.lower(tables.Listing.channel_sku) == variant.sku.lower(),
                     *([tables.Listing.channel_barcode == variant.barcode] if variant.barcode else []))
    rows = session.execute(select(tables.Listing, tables.Account.name).join(tables.Account)
                           .where(candidates).order_by(tables.Account.name, tables.Listing.id))
    result = []
    for listing, account in rows:
        if listing.variant_id not in (None, variant.id):
            continue
        if listing.variant_id is None and listing.channel_sku and \
                normalised_sku(listing.channel_sku) != normalised_sku(variant.sku) and \
                listing.channel_barcode != variant.barcode:
            continue
        result.append({"account": account, "external_variant_id": listing.external_variant_id,
                       "mapped": listing.variant_id == variant.id, "channel_sku": listing.channel_sku,
                       "channel_barcode": listing.channel_barcode, "title": listing.title, "status": listing.status,
                       "desired_quantity": listing.desired_quantity,
                       "acknowledged_quantity": listing.acknowledged_quantity, "push_pending": listing.push_pending,
                       "last_seen_at": listing.last_seen_at.isoformat() if listing.last_seen_at else None})
    return result


@catalog.command("show")
@click.argument("sku")
@json_option
@pass_app
def catalog_show(app: App, sku: str, as_json: bool) -> None:
    """Show one variant and every channel's listing of it, mapped or not."""
    with app.ready_hub().db.session() as session:
        variant = session.scalar(select(tables.Variant).where(tables.Variant.sku == sku))
        if variant is None:
            raise click.ClickException(f"no variant with SKU {sku!r}; see `marketsync catalog list`")
        product = session.get(tables.Product, variant.product_id)
        assert product is not None
        data: dict[str, Any] = {"sku": variant.sku, "product": product.title, "product_type": product.product_type,
                "tags": list(product.tags or []), "status": product.status, "variant": variant.title,
                "options": dict(variant.options or {}), "barcode": variant.barcode,
                "price": str(variant.price) if variant.price is not None else None,
                "compare_at_price": str(variant.compare_at_price) if variant.compare_at_price is not None else None,
                "currency": variant.currency, "listings": listing_rows(session, variant)}
    if as_json:
        print_json(data)
        return
    print_fields(f"variant {sku}", {k: v for k, v in data.items() if k != "listings"})
    print_table("listings", ["account", "external id", "mapped", "channel sku", "status", "desired", "acknowledged",
                             "pending"],
                ([r["account"], r["external_variant_id"], "yes" if r["mapped"] else "NO", r["channel_sku"],
                  r["status"], r["desired_quantity"], r["acknowledged_quantity"], r["push_pending"]]
                 for r in data["listings"]))


commands = [catalog]
