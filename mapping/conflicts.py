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
    STOCK_DRIFT = "stock_drift"


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
