"""Reconciliation: compare what each channel shows with what the hub believes it shows.

A difference that the account's recent orders explain is not drift: the job re-polls the
account's orders first (`sync.orders.polling.poll_orders`), and a channel already showing the
hub's desired number is simply acknowledged. What is left is DRIFT, handled by the account's
policy (`[accounts.NAME] drift_policy`, else `stock.drift_policy`):

- `revert` (default): acknowledge the observed number and push the hub's number back;
- `adopt`: record the difference as an adjustment movement (reason `drift_adopt`, source =
  the account) at the account's hub location, which propagates to every other channel;
- `conflict`: open a `stock_drift` conflict with the evidence; pushes to that listing wait
  until an operator resolves it.

A compare-and-swap write refused as stale is settled the same way, by its own job
(`check_stale`): the push kept the channel's number in `stale_reads` and went on with the
other listings; the check polls the account's orders, and what they do not explain is drift.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from canonical.errors import MarketsyncError
from connectors.errors import AuthFailed, Interrupted
from mapping.conflicts import ConflictKind, open_conflict
from store import tables
from store.settings import Settings
from store.types import utcnow
from sync.hub import health
from sync.hub.accounts import job_account
from sync.hub.context import Hub
from sync.orders.polling import POLLED_STREAM, poll_orders, read_cursor
from sync.stock import kits
from sync.stock.change import StockChange, stock_change
from sync.stock.desired import INACTIVE_STATUSES
from sync.stock.ledger import Movement
from sync.stock.locations import order_location_id

log = logging.getLogger(__name__)

STALE_ROUNDS = 5  # rounds of one stale check (each polls the account's orders once)


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


def compare(change: StockChange, account: tables.Account, observed: dict[str, int],
            read_started: datetime) -> dict[str, int]:
    """Compare observed with acknowledged for the account's mapped listings; act on drift."""
    session = change.session
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
        ingest_recent_orders(hub, account_id)
        read_started = utcnow()
        observed = observed_quantities(hub, account)
        with stock_change(hub) as change:
            counts = compare(change, account, observed, read_started)
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
    return counts


def check_stale(hub: Hub, account_id: int) -> dict[str, int]:
    """Settle the account's stale reads: poll its orders, then apply the drift policy to what the
    orders do not explain, and ask for a push again. Reads kept while it ran get another round; a read
    another check holds (PostgreSQL `SKIP LOCKED`; SQLite serialises writers) is that check's.

    No poll when one that started after the newest of those reads has finished (the periodic poll,
    or another check's): the sales before the reads are in already. Issue 15: in the chaos run the
    checks polled a throttled shop up to five times each, on the stock queue most workers take first."""
    counts = {"checked": 0, "explained": 0, "reverted": 0, "adopted": 0, "conflicts": 0}
    for _ in range(STALE_ROUNDS):
        started = utcnow()
        newest = _newest_stale_before(hub, account_id, started)
        if newest is None:
            break
        if not _polled_since(hub, account_id, newest):
            ingest_recent_orders(hub, account_id)
        with stock_change(hub) as change:
            account = change.session.get(tables.Account, account_id)
            if account is None:
                return counts
            for read in change.session.scalars(select(tables.StaleRead).where(
                    tables.StaleRead.account_id == account_id, tables.StaleRead.seen_at <= started)
                    .with_for_update(skip_locked=True)).all():
                counts["checked"] += 1
                listing = change.session.get(tables.Listing, read.listing_id)
                if listing is not None and listing.acknowledged_quantity == read.observed:
                    counts["explained"] += 1  # the orders just ingested moved acknowledged (channel_sold)
                elif listing is not None:
                    outcome = resolve_drift(change, account, listing, read.observed, found_by="push")
                    counts["conflicts" if outcome == "conflict" else outcome] += 1
                change.session.execute(delete(tables.StaleRead).where(tables.StaleRead.listing_id == read.listing_id))
            change.need_push([account_id])
    return counts


def _newest_stale_before(hub: Hub, account_id: int, moment: datetime) -> datetime | None:
    with hub.db.session() as session:
        return session.scalar(select(func.max(tables.StaleRead.seen_at)).where(
            tables.StaleRead.account_id == account_id, tables.StaleRead.seen_at <= moment))


def _polled_since(hub: Hub, account_id: int, moment: datetime) -> bool:
    """Whether a poll of the account's orders that started after `moment` has finished."""
    with hub.db.session() as session:
        polled = read_cursor(session, account_id, POLLED_STREAM)
    return polled is not None and polled > moment
