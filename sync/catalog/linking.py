"""Linking and unlinking a channel listing to a canonical variant, with every effect that follows.

A link makes the listing publish the variant's stock and lets order lines held for it reach the
ledger (`sync.orders.ingest.release_held_lines`), both inside the caller's stock change
(`sync.stock.change.StockChange`); the conflicts that only existed because the listing was
unmapped close with a note. Callers settle the change, commit, then push the accounts it returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mapping.conflicts import ConflictKind, ConflictStatus, close_conflict
from store import tables
from store.bulk import execute_many, update_rows
from store.chunks import among, chunked
from sync.hub.audit import audit
from sync.hub.context import Hub
from sync.orders.ingest import release_held_lines
from sync.stock.change import StockChange
from sync.stock.push_queue import schedule_pushes

# Conflicts that say "this listing has no variant": a link answers them.
UNMAPPED_KINDS = (ConflictKind.UNMATCHED_LISTING, ConflictKind.DUPLICATE_SKU, ConflictKind.SKU_BARCODE_MISMATCH,
                  ConflictKind.UNMAPPED_ORDER_LINE, ConflictKind.SKU_CHANGED)


IDENTITY = "identity"


def accept_identity(listing: tables.Listing) -> None:
    """The channel's current SKU and barcode are vouched for: no conflict about them until they change."""
    listing.synced_fields = {**(listing.synced_fields or {}),
                             IDENTITY: {"sku": listing.channel_sku, "barcode": listing.channel_barcode}}


def release_held(change: StockChange, listing_id: int) -> int:
    """Order lines of a now-linked listing reach the ledger (the orders engine decides)."""
    return int(release_held_lines(change, listing_id))


def schedule(hub: Hub, account_ids: Iterable[int]) -> list[str]:
    """After the caller's commit: enqueue stock pushes for `account_ids` that have pending listings."""
    accounts = sorted(set(account_ids))
    return list(schedule_pushes(hub, accounts)) if accounts else []


def related_open(session: Session, listing: tables.Listing, kinds: Iterable[str]) -> list[tables.Conflict]:
    """Open conflicts of `kinds` about `listing` (directly or through one of its order lines)."""
    lines = select(tables.OrderLine.id).where(tables.OrderLine.listing_id == listing.id)
    return list(session.scalars(select(tables.Conflict).where(
        tables.Conflict.status == ConflictStatus.OPEN.value, tables.Conflict.kind.in_([str(k) for k in kinds]),
        or_(tables.Conflict.listing_id == listing.id, tables.Conflict.order_line_id.in_(lines)),
    ).order_by(tables.Conflict.id)))


def link(change: StockChange, listing: tables.Listing, variant: tables.Variant, *, actor: str, how: str,
         except_conflict: int | None = None, by_itself: bool = False) -> tuple[set[int], int]:
    """Link `listing` to `variant`; returns (accounts touched, conflicts closed).

    `by_itself`: the refresh found the match, so the closed conflicts resolved themselves.
    """
    session = change.session
    previous = listing.variant_id
    listing.variant_id = variant.id
    fields: dict[str, Any] = dict(listing.synced_fields or {}) if previous == variant.id else {}
    # The channel identity the link was made on: later SKU or barcode changes are measured from it.
    fields[IDENTITY] = {"sku": listing.channel_sku, "barcode": listing.channel_barcode}
    listing.synced_fields = fields
    session.flush()
    change.touch({variant.id, previous})
    release_held(change, listing.id)
    note = f"listing linked to SKU {variant.sku!r} ({how})"
    closed = 0
    for conflict in related_open(session, listing, UNMAPPED_KINDS):
        if conflict.id != except_conflict:
            close_conflict(session, conflict, status=ConflictStatus.RESOLVED,
                           resolution="self" if by_itself else "link", actor=actor,
                           note=f"resolved itself: {note}" if by_itself else note)
            audit(session, actor, "conflict.self_resolved" if by_itself else "conflict.closed_by_link",
                  f"conflict:{conflict.id}", {"note": conflict.note})
            closed += 1
    return {listing.account_id}, closed


def has_held_lines(session: Session, account_id: int) -> bool:
    """Whether any order line of the account waits for a listing to be linked."""
    return session.scalar(select(tables.OrderLine.id).join(tables.Order, tables.Order.id == tables.OrderLine.order_id)
                          .where(tables.OrderLine.held.is_(True), tables.Order.account_id == account_id)
                          .limit(1)) is not None


LINKS_PER_STATEMENT = 5_000


@dataclass(frozen=True)
class Link:
    """One listing to link in `link_many`: the channel identity it is linked on, and the note its
    closed conflicts get ("listing linked to SKU … (matched by …)")."""

    listing_id: int
    account_id: int
    variant_id: int
    channel_sku: str | None
    channel_barcode: str | None
    note: str
    previous_variant_id: int | None = None


def link_many(change: StockChange, links: Sequence[Link], *, actor: str,
              by_itself: bool = True) -> tuple[set[int], int]:
    """`link` for many listings at once, with the same effects: one UPDATE for all, every variant
    involved touched in `change` (one recompute when it settles), held lines released where the
    account has any, and the unmapped-kind conflicts of those listings closed. Returns (accounts
    touched, closed)."""
    if not links:
        return set(), 0
    session = change.session
    session.flush()
    changed = ({"id": item.listing_id, "variant_id": item.variant_id,
                "synced_fields": {IDENTITY: {"sku": item.channel_sku, "barcode": item.channel_barcode}}}
               for item in links if item.previous_variant_id != item.variant_id)
    for rows in chunked(changed, LINKS_PER_STATEMENT):  # one compiled statement a chunk (`store.bulk`: on
        # PostgreSQL one UPDATE … FROM unnest, where executemany had sent every row as its own statement)
        execute_many(session, *update_rows(session, tables.Listing.__table__, "id", rows))
    for item in links:  # relinked to the same variant: keep what was synced, renew the identity
        if item.previous_variant_id == item.variant_id:
            listing = session.get(tables.Listing, item.listing_id)
            if listing is not None:
                accept_identity(listing)
    session.expire_all()  # ORM copies of these rows (if any) must not overwrite the UPDATE
    touched = {item.variant_id for item in links} | {item.previous_variant_id for item in links
                                                     if item.previous_variant_id}
    change.touch(touched)
    accounts = {item.account_id for item in links}
    for account_id in accounts:
        if has_held_lines(session, account_id):
            for item in links:
                if item.account_id == account_id:
                    release_held(change, item.listing_id)
    notes = {item.listing_id: item.note for item in links}
    closed = 0
    for chunk in chunked(sorted(notes)):
        line_owner = dict(session.execute(select(tables.OrderLine.id, tables.OrderLine.listing_id)
                                          .where(among(session, tables.OrderLine.listing_id, chunk))).all())
        conflicts = session.scalars(select(tables.Conflict).where(
            tables.Conflict.status == ConflictStatus.OPEN.value,
            tables.Conflict.kind.in_([str(k) for k in UNMAPPED_KINDS]),
            or_(among(session, tables.Conflict.listing_id, chunk),
                among(session, tables.Conflict.order_line_id, list(line_owner))),
        ).order_by(tables.Conflict.id))
        for conflict in list(conflicts):
            owner = conflict.listing_id if conflict.listing_id in notes else \
                line_owner.get(conflict.order_line_id or 0)
            if owner is None or owner not in notes:
                continue
            note = notes[owner]
            close_conflict(session, conflict, status=ConflictStatus.RESOLVED,
                           resolution="self" if by_itself else "link", actor=actor,
                           note=f"resolved itself: {note}" if by_itself else note)
            audit(session, actor, "conflict.self_resolved" if by_itself else "conflict.closed_by_link",
                  f"conflict:{conflict.id}", {"note": conflict.note})
            closed += 1
    return accounts, closed


def unlink(change: StockChange, listing: tables.Listing) -> None:
    """Remove the listing's link; it no longer publishes stock (its variant is recomputed)."""
    previous = listing.variant_id
    listing.variant_id = None
    listing.synced_fields = {}
    listing.desired_quantity = None
    listing.push_pending = False
    change.session.flush()
    change.touch({previous})
