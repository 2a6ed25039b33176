"""Reconciliation: compare what each channel shows with what the hub believes it shows.

A difference that the account's recent orders explain is not drift: the job polls the account's
orders after reading the channel (unless a poll that started after the read has finished), and a
listing the orders moved meanwhile is not judged on that read; a channel already showing the
hub's desired number is simply acknowledged. What is left is DRIFT, handled by the account's
policy (`[accounts.NAME] drift_policy`, else `stock.drift_policy`):

- `revert` (default): acknowledge the observed number and push the hub's number back;
- `adopt`: record the difference as an adjustment movement (reason `drift_adopt`, source =
  the account) at the account's hub location, which propagates to every other channel;
- `conflict`: open a `stock_drift` conflict with the evidence; pushes to that listing wait
  until an operator resolves it.

A write refused as stale, or a delta whose answer was lost, is settled by its own job
(`sync.stock.readback.check_stale`) from a fresh read of the channel, the same way.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from canonical.errors import MarketsyncError
from connectors.errors import AuthFailed, Interrupted
from mapping.conflicts import ConflictKind, open_conflict
from store import tables
from store.settings import Settings
from store.types import utcnow
from sync.hub import health
from sync.hub.accounts import job_account
from sync.hub.context import Hub
from sync.orders.polling import poll_orders
from sync.stock import kits, writes
from sync.stock.change import StockChange, stock_change
from sync.stock.desired import INACTIVE_STATUSES
from sync.stock.ledger import Movement
from sync.stock.locations import order_location_id

log = logging.getLogger(__name__)


def drift_policy(settings: Settings, account_name: str) -> str:
    policy = settings.accounts.get(account_name, {}).get("drift_policy") or settings.stock.drift_policy
    return str(policy)


def ingest_recent_orders(hub: Hub, account_id: int) -> bool:
    """Ingest the account's recent orders now, so a sale the channel made is counted once.

    Returns False when the poll failed (it is logged; the periodic poll job retries).
    """
    try:
        poll_orders(hub, account_id)
    except Exception as exc:  # a failed poll must not stop the push or the check; the poll job retries
        log.warning("order poll for account %s failed before reconciling: %s", account_id, exc)
        return False
    return True


def resolve_drift(change: StockChange, account: tables.Account, listing: tables.Listing, observed: int, *,
                  found_by: str) -> str:
    """Apply the account's drift policy to one listing; returns reverted / adopted / conflict."""
    session = change.session
    policy = drift_policy(change.settings, account.name)
    previous, now = listing.acknowledged_quantity, utcnow()
    # a kit holds no stock to adopt a number into: its listing is reverted to what its components allow
    if policy == "adopt" and previous is not None and listing.variant_id is not None \
            and not kits.is_kit(session, listing.variant_id):
        change.move(Movement(
            f"drift:{account.id}:{listing.id}:{now.isoformat()}", listing.variant_id,
            order_location_id(session, account.id), on_hand_delta=observed - previous, reason="drift_adopt",
            source=account.name, reference=f"listing {listing.external_variant_id}: {previous} → {observed}"))
        outcome = "adopted"
    elif policy == "conflict":
        open_conflict(session, ConflictKind.STOCK_DRIFT, f"stock_drift:{account.id}:{listing.id}",
                      evidence={"hub_acknowledged": previous, "channel_observed": observed,
                                "hub_desired": listing.desired_quantity, "observed_at": now.isoformat(),
                                "acknowledged_at": listing.acknowledged_at.isoformat()
                                if listing.acknowledged_at else None, "found_by": found_by},
                      suggestions=["revert", "adopt"], account_id=account.id, listing_id=listing.id,
                      variant_id=listing.variant_id)
        outcome = "conflict"
    else:
        outcome = "reverted"
    session.refresh(listing)
    listing.acknowledged_quantity, listing.acknowledged_at = observed, now
    listing.push_pending = listing.desired_quantity is not None and listing.desired_quantity != observed
    session.flush()
    if listing.push_pending:
        change.need_push([account.id])
    return outcome


def observed_quantities(hub: Hub, account: tables.Account) -> dict[str, int]:
    """The channel's live quantity per external variant id (tracked listings only)."""
    connector = hub.connector(account)
    try:
        return {item.external_variant_id: item.quantity for item in connector.listings()
                if item.quantity is not None and item.tracked}
    finally:
        connector.close()


Snapshot = dict[int, tuple[int | None, datetime | None]]  # listing id → (acknowledged, when)


def moved(listing: tables.Listing, before: Snapshot) -> bool:
    """Whether the listing's acknowledged number moved since `before` (a read then is stale for it)."""
    return before.get(listing.id) != (listing.acknowledged_quantity, listing.acknowledged_at)


def acknowledged_now(hub: Hub, account_id: int) -> Snapshot:
    """The account's acknowledged numbers (and when each was acknowledged), taken before a read."""
    listing = tables.Listing
    with hub.db.session() as session:
        rows = session.execute(select(listing.id, listing.acknowledged_quantity, listing.acknowledged_at)
                               .where(listing.account_id == account_id)).all()
    return {int(i): (quantity, at) for i, quantity, at in rows}


def compare(change: StockChange, account: tables.Account, observed: dict[str, int],
            before: Snapshot) -> dict[str, int]:
    """Compare observed with acknowledged for the account's mapped listings; act on drift.

    `before`: the acknowledged numbers taken before the channel was read (`acknowledged_now`). A
    listing whose number moved since (pushed, or a sale ingested while the read ran) is not judged
    on that read, nor one with a write still out (`stock_writes`: its own read-back settles it)."""
    session = change.session
    in_flight = set(writes.journal(session, account.id))
    counts = {"checked": 0, "drifted": 0, "reverted": 0, "adopted": 0, "conflicts": 0, "explained": 0}
    listings = session.scalars(select(tables.Listing).where(
        tables.Listing.account_id == account.id, tables.Listing.variant_id.is_not(None),
        tables.Listing.status.not_in(INACTIVE_STATUSES)).order_by(tables.Listing.id)).all()
    for listing in listings:
        value = observed.get(listing.external_variant_id)
        if value is None or listing.id in in_flight or moved(listing, before):
            continue  # gone from the channel (the catalogue engine handles it), or moved while we read
        counts["checked"] += 1
        if value == listing.acknowledged_quantity:
            continue
        if listing.acknowledged_quantity is None or value == listing.desired_quantity:
            counts["explained"] += 1  # first sight, or the channel already shows the hub's number
            listing.acknowledged_quantity, listing.acknowledged_at = value, utcnow()
            listing.push_pending = listing.desired_quantity is not None and listing.desired_quantity != value
            if listing.push_pending:
                change.need_push([account.id])
            continue
        counts["drifted"] += 1
        outcome = resolve_drift(change, account, listing, value, found_by="reconcile")
        counts["conflicts" if outcome == "conflict" else outcome] += 1
    return counts


def reconcile_account(hub: Hub, account_id: int) -> dict[str, Any]:
    """One reconciliation run of one account, recorded in sync_runs."""
    with hub.db.session() as session:
        account = job_account(session, account_id)
        if account is None:
            return {"skipped": "account removed or disabled"}
        run = tables.SyncRun(kind="reconcile", account_id=account_id, status="running")
        session.add(run)
        session.flush()
        run_id = run.id
    try:
        before = acknowledged_now(hub, account_id)
        observed = observed_quantities(hub, account)
        # After the read, not before it: the sales the channel made before the read come in now and
        # move their listings, which are then not judged on this read (`compare`). Only a poll that
        # starts once the read is over sees every sale the read saw, so none is skipped.
        ingest_recent_orders(hub, account_id)
        with stock_change(hub) as change:
            counts = compare(change, account, observed, before)
            run_row = change.session.get(tables.SyncRun, run_id)
            assert run_row is not None
            run_row.counts, run_row.status, run_row.finished_at = counts, "ok", utcnow()
    except Exception as exc:
        with hub.db.session() as session:
            failed = session.get(tables.SyncRun, run_id)
            if failed is not None:
                failed.status, failed.error, failed.finished_at = "failed", str(exc)[:2000], utcnow()
        if isinstance(exc, Interrupted):  # the worker is stopping: the job is put back, not the account's failure
            raise
        if isinstance(exc, AuthFailed):  # recorded; the job's error policy marks the account failing
            health.failed(hub, account_id, "reconcile", exc)
            raise
        if isinstance(exc, MarketsyncError):  # recorded on the account, one line: the next cycle tries again
            return health.failed(hub, account_id, "reconcile", exc)
        raise
    health.succeeded(hub, account_id)
    return counts
