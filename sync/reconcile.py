"""Reconciliation: compare what each channel shows with what the hub believes it shows.

A difference that the account's recent orders explain is not drift: the job re-polls the
account's orders first (`sync.orders.poll_orders_job`), and a channel already showing the
hub's desired number is simply acknowledged. What is left is DRIFT, handled by the account's
policy (`[accounts.NAME] drift_policy`, else `stock.drift_policy`):

- `revert` (default): acknowledge the observed number and push the hub's number back;
- `adopt`: record the difference as an adjustment movement (reason `drift_adopt`, source =
  the account) at the account's hub location, which propagates to every other channel;
- `conflict`: open a `stock_drift` conflict with the evidence; pushes to that listing wait
  until an operator resolves it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mapping.conflicts import ConflictKind, open_conflict
from store import tables
from store.settings import Settings
from store.types import utcnow
from sync.context import Hub
from sync.ledger import Movement, apply_movement
from sync.locations import order_location_id
from sync.orders import poll_orders_job
from sync.propagation import INACTIVE_STATUSES, schedule_pushes
from sync.runtime import current_hub

log = logging.getLogger(__name__)


def drift_policy(settings: Settings, account_name: str) -> str:
    policy = settings.accounts.get(account_name, {}).get("drift_policy") or settings.stock.drift_policy
    return str(policy)


def ingest_recent_orders(hub: Hub, account_id: int) -> bool:
    """Ingest the account's recent orders now, so a sale the channel made is counted once.

    Returns False when the poll failed (it is logged; the periodic poll job retries).
    """
    try:
        poll_orders_job(account_id)
    except Exception as exc:  # a failed poll must not stop the push or the check; the poll job retries
        log.warning("order poll for account %s failed before reconciling: %s", account_id, exc)
        return False
    return True


def resolve_drift(session: Session, settings: Settings, account: tables.Account, listing: tables.Listing,
                  observed: int, *, found_by: str) -> str:
    """Apply the account's drift policy to one listing; returns reverted / adopted / conflict."""
    policy = drift_policy(settings, account.name)
    previous, now = listing.acknowledged_quantity, utcnow()
    if policy == "adopt" and previous is not None and listing.variant_id is not None:
        apply_movement(session, Movement(
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
    return outcome


def observed_quantities(hub: Hub, account: tables.Account) -> dict[str, int]:
    """The channel's live quantity per external variant id (tracked listings only)."""
    connector = hub.connector(account)
    try:
        return {item.external_variant_id: item.quantity for item in connector.listings()
                if item.quantity is not None and item.tracked}
    finally:
        connector.close()


def compare(session: Session, settings: Settings, account: tables.Account, observed: dict[str, int],
            read_started: datetime) -> dict[str, int]:
    """Compare observed with acknowledged for the account's mapped listings; act on drift."""
    counts = {"checked": 0, "drifted": 0, "reverted": 0, "adopted": 0, "conflicts": 0, "explained": 0}
    listings = session.scalars(select(tables.Listing).where(
        tables.Listing.account_id == account.id, tables.Listing.variant_id.is_not(None),
        tables.Listing.status.not_in(INACTIVE_STATUSES)).order_by(tables.Listing.id)).all()
    for listing in listings:
        value = observed.get(listing.external_variant_id)
        if value is None or (listing.acknowledged_at and listing.acknowledged_at > read_started):
            continue  # gone from the channel (the catalogue engine handles it) or pushed while we read
        counts["checked"] += 1
        if value == listing.acknowledged_quantity:
            continue
        if listing.acknowledged_quantity is None or value == listing.desired_quantity:
            counts["explained"] += 1  # first sight, or the channel already shows the hub's number
            listing.acknowledged_quantity, listing.acknowledged_at = value, utcnow()
            listing.push_pending = listing.desired_quantity is not None and listing.desired_quantity != value
            continue
        counts["drifted"] += 1
        outcome = resolve_drift(session, settings, account, listing, value, found_by="reconcile")
        counts["conflicts" if outcome == "conflict" else outcome] += 1
    return counts


def reconcile_account(hub: Hub, account_id: int) -> dict[str, Any]:
    """One reconciliation run of one account, recorded in sync_runs."""
    with hub.db.session() as session:
        account = session.get(tables.Account, account_id)
        if account is None:
            raise LookupError(f"no account with id {account_id}; it may have been removed")
        run = tables.SyncRun(kind="reconcile", account_id=account_id, status="running")
        session.add(run)
        session.flush()
        run_id = run.id
    try:
        ingest_recent_orders(hub, account_id)
        read_started = utcnow()
        observed = observed_quantities(hub, account)
        with hub.db.session() as session:
            counts = compare(session, hub.settings, account, observed, read_started)
            run_row = session.get(tables.SyncRun, run_id)
            assert run_row is not None
            run_row.counts, run_row.status, run_row.finished_at = counts, "ok", utcnow()
    except Exception as exc:
        with hub.db.session() as session:
            failed = session.get(tables.SyncRun, run_id)
            if failed is not None:
                failed.status, failed.error, failed.finished_at = "failed", str(exc)[:2000], utcnow()
        raise
    schedule_pushes(hub)
    return counts


def reconcile_job(account_id: int) -> dict[str, Any]:
    """RQ job: reconcile one account's live channel quantities with the hub."""
    return reconcile_account(current_hub(), account_id)
