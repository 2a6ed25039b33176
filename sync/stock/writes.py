"""A desired quantity expressed in the connector's write mode, and the writes still out.

- ABSOLUTE: the number itself; ABSOLUTE_CAS: the number and the acknowledged one to compare with.
- DELTA: `desired - acknowledged` under its idempotency id (`sync.stock.push.stock_update`), kept in
  `stock_writes` (status `sending`) before it is sent. Once answered, the row goes and the next push
  computes a fresh delta under a new id.
- A delta that went out unanswered (a timeout, a 5xx, the worker killed mid-call, the connector's
  own write journal lost with Redis) is never sent again: a second send of a delta the platform had
  applied applies it twice. The row becomes `undecided` and a read-back of the channel
  (`sync.stock.readback`) tells applied from not applied (issue 15).
- A `submitted` answer (an async platform) is kept as a `submitted` row with its handle: the
  listing is not pushed again until `sync.stock.confirm` hears that the write was applied or
  rejected. Nothing counts as acknowledged until applied.

An applied DELTA write moves the acknowledged quantity by its delta (relative, as a
compare-and-swap does): the channel's own sales ingested meanwhile have already moved it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from connectors.stock import StockUpdate, StockWriteMode, StockWriteResult, WriteStatus
from store import tables
from store.types import utcnow

SENDING = "sending"
SUBMITTED = "submitted"
UNDECIDED = "undecided"


def journal(session: Session, account_id: int) -> dict[int, tables.StockWrite]:
    """The account's writes still out, by listing (few: only unanswered deltas and unconfirmed writes)."""
    rows = session.scalars(select(tables.StockWrite).where(tables.StockWrite.account_id == account_id))
    return {row.listing_id: row for row in rows}


def held(rows: dict[int, tables.StockWrite]) -> set[int]:
    """Listings not pushed until their last write is settled: submitted and unconfirmed, or undecided."""
    return {listing_id for listing_id, row in rows.items() if row.status in (SUBMITTED, UNDECIDED)}


def resend(rows: dict[int, tables.StockWrite]) -> set[int]:
    """Listings with a delta that went out unanswered: looked at even if nothing is pending now
    (`update_for` makes it undecided)."""
    return {listing_id for listing_id, row in rows.items() if row.status == SENDING}


def mark_undecided(session: Session, listing_ids: Iterable[int]) -> int:
    """Deltas of `listing_ids` still `sending` went out without an answer: undecided, for a read-back."""
    ids = sorted(set(listing_ids))
    if not ids:
        return 0
    result = session.execute(update(tables.StockWrite).where(
        tables.StockWrite.listing_id.in_(ids), tables.StockWrite.status == SENDING,
        tables.StockWrite.delta.is_not(None)).values(status=UNDECIDED, attempts=0, updated_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def mark_lost(session: Session, before: datetime, live_accounts: set[int]) -> None:
    """Deltas left `sending` since `before` by a push that is gone (its account's claim is not held:
    the worker died mid-call): undecided."""
    rows = session.execute(select(tables.StockWrite.listing_id, tables.StockWrite.account_id).where(
        tables.StockWrite.status == SENDING, tables.StockWrite.updated_at <= before)).all()
    mark_undecided(session, [listing_id for listing_id, account_id in rows if account_id not in live_accounts])


def undecided_account_ids(session: Session, before: datetime) -> set[int]:
    """Accounts with a delta undecided since `before` (or asked about last before it)."""
    return {int(a) for a in session.scalars(select(tables.StockWrite.account_id).where(
        tables.StockWrite.status == UNDECIDED, tables.StockWrite.updated_at <= before).distinct())}


def _update(listing: tables.Listing, quantity: int, *, compare: int | None = None, delta: int | None = None,
            idempotency_id: str | None = None) -> StockUpdate:
    return StockUpdate(str(listing.id), listing.external_variant_id, listing.external_product_id,
                       listing.external_inventory_item_id, None, quantity, compare, delta, idempotency_id)


def update_from_row(listing: tables.Listing, row: tables.StockWrite) -> StockUpdate:
    """The write a row stands for, exactly as it was first sent."""
    return _update(listing, row.quantity, delta=row.delta, idempotency_id=row.idempotency_id)


def update_for(session: Session, listing: tables.Listing, fresh: StockUpdate, mode: StockWriteMode,
               row: tables.StockWrite | None) -> StockUpdate | None:
    """What to send for `listing` now, given its row in the `journal` (or None): `fresh` (the desired
    quantity in the write mode), a delta of it kept as `sending` before it goes out. None while a
    submitted write of it is unconfirmed, while a delta is undecided (an unanswered one found here
    becomes undecided: never sent twice), or a delta has no base yet. Whatever is sent has a row
    exactly when it is a delta (`journaled`)."""
    if row is not None:
        if row.status in (SUBMITTED, UNDECIDED):
            return None
        if row.delta is not None:  # an unanswered delta: applied or not, a read-back decides
            row.status, row.attempts, row.updated_at = UNDECIDED, 0, utcnow()
            session.flush()
            return None
        session.delete(row)  # an absolute write left unanswered: the current number supersedes it
        session.flush()
    if mode is StockWriteMode.DELTA and (fresh.delta is None or fresh.idempotency_id is None):
        return None
    if fresh.delta is not None:
        session.add(tables.StockWrite(listing_id=listing.id, account_id=listing.account_id, status=SENDING,
                                      quantity=fresh.quantity, base_quantity=fresh.quantity - fresh.delta,
                                      delta=fresh.delta, idempotency_id=fresh.idempotency_id))
        session.flush()
    return fresh


def acknowledged_as(update: StockUpdate, result: StockWriteResult, mode: StockWriteMode,
                    acknowledged: int | None) -> tuple[int, int | None]:
    """(written, compared) for `sync.stock.desired.acknowledge` of an applied result."""
    if update.delta is not None:
        return update.quantity, update.quantity - update.delta
    written = result.quantity if result.quantity is not None else update.quantity
    return written, acknowledged if mode is StockWriteMode.ABSOLUTE_CAS else None


def journaled(update: StockUpdate) -> bool:
    """Whether a write `update_for` returned has a row in `stock_writes` (a delta; an absolute write
    left none behind)."""
    return update.delta is not None


def settle(session: Session, account_id: int, update: StockUpdate, result: StockWriteResult | None,
           *, has_row: bool = True) -> bool:
    """Keep or drop the listing's row after an answer (no answer: a delta is undecided, for a
    read-back). `has_row=False` says the caller knows there is none, so nothing need be deleted.
    False when the row was gone already (a read-back settled the write first): the answer is not
    acknowledged twice."""
    listing_id = int(update.listing_ref)
    if result is None:
        mark_undecided(session, [listing_id])
        return False
    if result.status is WriteStatus.SUBMITTED:
        row = session.scalar(select(tables.StockWrite).where(tables.StockWrite.listing_id == listing_id))
        if row is None:
            row = tables.StockWrite(listing_id=listing_id, account_id=account_id, status=SUBMITTED,
                                    quantity=update.quantity, delta=update.delta,
                                    idempotency_id=update.idempotency_id)
            session.add(row)
        row.status, row.handle, row.updated_at = SUBMITTED, result.handle, utcnow()
        if update.delta is not None and row.base_quantity is None:
            row.base_quantity = update.quantity - update.delta
        session.flush()
        return True
    if result.status is WriteStatus.STALE and update.delta is not None:
        mark_undecided(session, [listing_id])  # a connector that could not tell whether it went through
        return True
    if has_row:  # this write's own row: one a read-back replaced since is not this answer's to drop
        row_of = tables.StockWrite.listing_id == listing_id
        if update.idempotency_id is not None:
            row_of = row_of & (tables.StockWrite.idempotency_id == update.idempotency_id)
        gone = session.execute(delete(tables.StockWrite).where(row_of))
        return bool(getattr(gone, "rowcount", 1))
    return True

