"""Conflicts: what the hub will not guess about. Opening is idempotent per subject.

A subject names the thing in dispute (e.g. `unmatched:{account_id}:{external_variant_id}`);
while a conflict on a subject is open, opening it again updates its evidence instead of
adding a row. Resolution lives in `sync/` (it has effects); this module only records.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import tables
from store.types import utcnow


class ConflictKind(StrEnum):
    UNMATCHED_LISTING = "unmatched_listing"
    DUPLICATE_SKU = "duplicate_sku"
    SKU_BARCODE_MISMATCH = "sku_barcode_mismatch"
    SKU_CHANGED = "sku_changed"
    LISTING_DELETED = "listing_deleted"
    UNMAPPED_ORDER_LINE = "unmapped_order_line"
    FIELD_CHANGED_BOTH_SIDES = "field_changed_both_sides"
    # Only the channel changed a synced field, under `field_policy = "conflict"`.
    FIELD_CHANGED_ON_CHANNEL = "field_changed_on_channel"
    STOCK_DRIFT = "stock_drift"
    # A shipment's order was cancelled on the channel before the push reached it.
    CANCELLED_BEFORE_SHIPMENT = "cancelled_before_shipment"
    # Committed beyond on hand at a hub location (backorders, a race between channels).
    OVERSOLD = "oversold"
    # The platform refused the account's credentials: its jobs stop until the account works again.
    ACCOUNT_FAILING = "account_failing"


class ConflictStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    IGNORED = "ignored"


def find_open(session: Session, subject: str) -> tables.Conflict | None:
    return session.scalar(select(tables.Conflict).where(
        tables.Conflict.subject == subject, tables.Conflict.status == ConflictStatus.OPEN))


def open_conflict(session: Session, kind: ConflictKind, subject: str, *, evidence: dict[str, Any],
                  suggestions: list[Any] | None = None, account_id: int | None = None,
                  listing_id: int | None = None, variant_id: int | None = None,
                  order_line_id: int | None = None) -> tables.Conflict:
    """Open a conflict on `subject`, or refresh the evidence of the open one."""
    conflict = find_open(session, subject)
    if conflict is None:
        conflict = tables.Conflict(kind=kind.value, subject=subject, status=ConflictStatus.OPEN.value,
                                   account_id=account_id, listing_id=listing_id, variant_id=variant_id,
                                   order_line_id=order_line_id, evidence=evidence, suggestions=suggestions or [])
        session.add(conflict)
    else:
        conflict.evidence = evidence
        conflict.suggestions = suggestions or conflict.suggestions
    session.flush()
    return conflict


def close_conflict(session: Session, conflict: tables.Conflict, *, status: ConflictStatus, resolution: str,
                   actor: str, note: str | None = None) -> None:
    conflict.status = status.value
    conflict.resolution = resolution
    conflict.resolved_by = actor
    conflict.resolved_at = utcnow()
    conflict.note = note
    session.flush()


def latest(session: Session, subject: str) -> tables.Conflict | None:
    """The newest conflict on `subject`, whatever its status."""
    return session.scalar(select(tables.Conflict).where(tables.Conflict.subject == subject)
                          .order_by(tables.Conflict.id.desc()).limit(1))


def is_ignored(session: Session, subject: str) -> bool:
    """True when an operator ignored the newest conflict on `subject`: the hub does not reopen it."""
    newest = latest(session, subject)
    return newest is not None and newest.status == ConflictStatus.IGNORED


def open_unless_ignored(session: Session, kind: ConflictKind, subject: str, **kwargs: Any) -> tables.Conflict | None:
    """`open_conflict`, except on a subject an operator chose to ignore (then None)."""
    if is_ignored(session, subject):
        return None
    return open_conflict(session, kind, subject, **kwargs)


def close_if_open(session: Session, subject: str, note: str, *, actor: str = "marketsync") -> tables.Conflict | None:
    """Close the open conflict on `subject` as resolved by itself, with `note`; None when none is open."""
    conflict = find_open(session, subject)
    if conflict is not None:
        close_conflict(session, conflict, status=ConflictStatus.RESOLVED, resolution="self",
                       actor=actor, note=f"resolved itself: {note}")
    return conflict


def reopen(session: Session, conflict: tables.Conflict) -> None:
    """Make a resolved or ignored conflict open again (its resolution fields are cleared)."""
    conflict.status = ConflictStatus.OPEN.value
    conflict.resolution = None
    conflict.resolved_by = None
    conflict.resolved_at = None
    session.flush()
