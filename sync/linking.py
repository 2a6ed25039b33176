"""Linking and unlinking a channel listing to a canonical variant, with every effect that follows.

A link makes the listing publish the variant's stock (`sync.propagation.recompute_desired`)
and lets order lines held for it reach the ledger (`sync.orders.release_held_lines`); the
conflicts that only existed because the listing was unmapped close with a note. Callers run
`schedule_pushes(hub, accounts)` after their commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mapping.conflicts import ConflictKind, ConflictStatus, close_conflict
from store import tables
from sync.audit import audit
from sync.context import Hub
from sync.orders import release_held_lines
from sync.propagation import recompute_desired, schedule_pushes

# Conflicts that say "this listing has no variant": a link answers them.
UNMAPPED_KINDS = (ConflictKind.UNMATCHED_LISTING, ConflictKind.DUPLICATE_SKU, ConflictKind.SKU_BARCODE_MISMATCH,
                  ConflictKind.UNMAPPED_ORDER_LINE, ConflictKind.SKU_CHANGED)


IDENTITY = "identity"


def accept_identity(listing: tables.Listing) -> None:
    """The channel's current SKU and barcode are vouched for: no conflict about them until they change."""
    listing.synced_fields = {**(listing.synced_fields or {}),
                             IDENTITY: {"sku": listing.channel_sku, "barcode": listing.channel_barcode}}


def recompute(session: Session, variant_ids: set[int]) -> set[int]:
    """Accounts whose listings need a stock push now (the inventory engine decides)."""
    return set(recompute_desired(session, variant_ids))


def release_held(session: Session, listing_id: int) -> int:
    """Order lines of a now-linked listing reach the ledger (the orders engine decides)."""
    return int(release_held_lines(session, listing_id))


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


def link(session: Session, listing: tables.Listing, variant: tables.Variant, *, actor: str, how: str,
         except_conflict: int | None = None, by_itself: bool = False) -> tuple[set[int], int]:
    """Link `listing` to `variant`; returns (accounts needing a stock push, conflicts closed).

    `by_itself`: the refresh found the match, so the closed conflicts resolved themselves.
    """
    previous = listing.variant_id
    listing.variant_id = variant.id
    fields: dict[str, Any] = dict(listing.synced_fields or {}) if previous == variant.id else {}
    # The channel identity the link was made on: later SKU or barcode changes are measured from it.
    fields[IDENTITY] = {"sku": listing.channel_sku, "barcode": listing.channel_barcode}
    listing.synced_fields = fields
    session.flush()
    accounts = recompute(session, {variant.id} | ({previous} if previous else set()))
    release_held(session, listing.id)
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
    return accounts | {listing.account_id}, closed


def unlink(session: Session, listing: tables.Listing) -> set[int]:
    """Remove the listing's link; it no longer publishes stock."""
    previous = listing.variant_id
    listing.variant_id = None
    listing.synced_fields = {}
    listing.desired_quantity = None
    listing.push_pending = False
    session.flush()
    return recompute(session, {previous}) if previous else set()
