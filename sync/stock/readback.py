"""Read-backs: what a channel shows, judged from a fresh read, for stale reads and undecided deltas.

A read of a channel is judged only for listings whose acknowledged number did not move while it was
read (`reconcile.acknowledged_now` before, `moved` at the compare): a sale ingested meanwhile (its `channel_sold`
moved the number the hub believes the channel shows) makes the read stale, and taking it as the
channel's number then leaves the channel below the hub for good (issue 15, chaos: 28 of 540
listings on the delta-writing marketplaces one or two units below). Moved listings wait a round.

`check_stale` (the job `sync.jobs.check_stale`) settles an account's
- stale reads (a compare-and-swap or delta refused as stale, `sync.stock.push`): the channel is read
  again and compared; what the hub's number does not explain goes to the drift policy;
- undecided deltas (`sync.stock.writes`: sent, answer never heard): the channel at acknowledged +
  delta → applied, acknowledged as the push would have; at acknowledged → not applied, the row goes
  and the next push sends a new delta under a new id; anything else (a sale not ingested yet) →
  asked again next round, and after `UNDECIDED_ROUNDS` rounds the drift policy settles it with the
  channel's number and it is logged for the operator, never sent again.
Each round polls the account's orders after its read of the channel, never before it: a sale made
between a poll and the read would be in the channel's number and not in the hub's.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, func, select

from connectors.waits import nap
from store import tables
from store.types import utcnow
from sync.hub.context import Hub
from sync.stock import reconcile, writes
from sync.stock.change import StockChange, stock_change
from sync.stock.desired import acknowledge, in_step
from sync.stock.reconcile import Snapshot, moved

log = logging.getLogger(__name__)

STALE_ROUNDS = 5       # rounds of one check job
UNDECIDED_ROUNDS = 6   # read-backs that could not tell before an undecided delta goes to the operator
PAUSE_S = 1.0          # between two rounds when something was left (a sale on its way in)

COUNTS = ("checked", "explained", "reverted", "adopted", "conflicts", "applied", "not_applied", "undecided",
          "surfaced", "moved")


def _newest(hub: Hub, account_id: int, moment: datetime) -> datetime | None:
    """The newest stale read (up to `moment`) or undecided delta of the account; None when none."""
    with hub.db.session() as session:
        read = session.scalar(select(func.max(tables.StaleRead.seen_at)).where(
            tables.StaleRead.account_id == account_id, tables.StaleRead.seen_at <= moment))
        row = session.scalar(select(func.max(tables.StockWrite.updated_at)).where(
            tables.StockWrite.account_id == account_id, tables.StockWrite.status == writes.UNDECIDED))
    found = [moment_ for moment_ in (read, row) if moment_ is not None]
    return max(found) if found else None


def _outcome(counts: dict[str, int], outcome: str) -> None:
    counts["conflicts" if outcome == "conflict" else outcome] += 1


def judge_undecided(change: StockChange, account: tables.Account, observed: dict[str, int], before: Snapshot,
                    counts: dict[str, int]) -> set[int]:
    """Settle the account's undecided deltas from the read; the listings still undecided or moved."""
    session, left = change.session, set()
    for row in session.scalars(select(tables.StockWrite).where(
            tables.StockWrite.account_id == account.id, tables.StockWrite.status == writes.UNDECIDED)
            .order_by(tables.StockWrite.id).with_for_update(skip_locked=True)).all():
        listing = session.get(tables.Listing, row.listing_id)
        if listing is None or row.delta is None:
            session.delete(row)
            continue
        if moved(listing, before):
            counts["moved"] += 1
            left.add(listing.id)
            continue
        value, acknowledged = observed.get(listing.external_variant_id), listing.acknowledged_quantity
        if value is not None and acknowledged is not None and value in (acknowledged + row.delta, acknowledged):
            session.delete(row)
            session.flush()
            if value == acknowledged + row.delta:
                base = row.base_quantity if row.base_quantity is not None else row.quantity - row.delta
                acknowledge(session, listing.id, row.quantity, compared=base)
                session.refresh(listing)
                counts["applied"] += 1
            else:  # not applied: a new acknowledgement time, so the next delta has a new id
                listing.acknowledged_at = utcnow()
                counts["not_applied"] += 1
            listing.push_pending = listing.desired_quantity is not None and \
                not in_step(listing.desired_quantity, listing.acknowledged_quantity)
            continue
        row.attempts, row.updated_at = row.attempts + 1, utcnow()
        if row.attempts < UNDECIDED_ROUNDS:
            counts["undecided"] += 1
            left.add(listing.id)
            continue
        session.delete(row)
        counts["surfaced"] += 1
        log.warning("account %s: listing %s (%s): a delta of %+d sent without an answer could not be told "
                    "applied or not in %d read-backs (hub %s, channel %s); settled by the drift policy",
                    account.name, listing.id, listing.external_variant_id, row.delta, UNDECIDED_ROUNDS,
                    acknowledged, value)
        if value is not None:
            _outcome(counts, reconcile.resolve_drift(change, account, listing, value, found_by="undecided write"))
    return left


def judge_stale(change: StockChange, account: tables.Account, observed: dict[str, int], before: Snapshot,
                started: datetime, counts: dict[str, int], undecided: set[int]) -> set[int]:
    """Settle the account's stale reads kept up to `started` from the fresh read; the listings moved."""
    session, left = change.session, set()
    for read in session.scalars(select(tables.StaleRead).where(
            tables.StaleRead.account_id == account.id, tables.StaleRead.seen_at <= started)
            .with_for_update(skip_locked=True)).all():
        listing = session.get(tables.Listing, read.listing_id)
        if listing is not None and listing.id in undecided:
            continue  # its delta's read-back comes first; the read is judged in a later round
        if listing is not None:
            if moved(listing, before):
                counts["moved"] += 1
                left.add(listing.id)
                continue
            counts["checked"] += 1
            value = observed.get(listing.external_variant_id)
            if value is None or value == listing.acknowledged_quantity:
                counts["explained"] += 1  # the orders ingested meanwhile moved acknowledged (channel_sold)
            else:
                _outcome(counts, reconcile.resolve_drift(change, account, listing, value, found_by="push"))
        session.execute(delete(tables.StaleRead).where(tables.StaleRead.listing_id == read.listing_id))
    return left


def check_stale(hub: Hub, account_id: int) -> dict[str, int]:
    """Settle the account's stale reads and undecided deltas from fresh reads of the channel (above)."""
    counts = dict.fromkeys(COUNTS, 0)
    for round_number in range(STALE_ROUNDS):
        started = utcnow()
        newest = _newest(hub, account_id, started)
        if newest is None:
            break
        with hub.db.session() as session:
            account = session.get(tables.Account, account_id)
            if account is None:
                return counts
        before = reconcile.acknowledged_now(hub, account_id)
        observed = reconcile.observed_quantities(hub, account)
        # After the read (as `reconcile_account`): a sale the read saw comes in now and moves its
        # listing, which then waits a round instead of being taken for drift or a delta's outcome.
        reconcile.ingest_recent_orders(hub, account_id)
        with stock_change(hub) as change:
            account = change.session.get(tables.Account, account_id)
            assert account is not None
            left = judge_undecided(change, account, observed, before, counts)
            left |= judge_stale(change, account, observed, before, started, counts, left)
            change.need_push([account_id])
        if left and round_number < STALE_ROUNDS - 1:
            nap(PAUSE_S, where="a read-back of stock writes")
    return counts
