"""First sight of a channel's numbers: what `stock import` read is what the channel shows.

A listing never acknowledged takes the quantity the import just read from its channel as its
acknowledged number, as reconciliation records a first sight (`sync.stock.reconcile.compare`).
The recompute that follows then marks it pending only where the hub publishes something else,
so importing a channel's stock no longer writes every number straight back to that channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from sqlalchemy import Table, exists, select
from sqlalchemy.orm import Session

from store import tables
from store.bulk import execute_many, update_rows
from store.chunks import chunked
from store.types import utcnow

ROWS_PER_STATEMENT = 10_000  # kept in memory per statement (one array a column on PostgreSQL)


def record_first_sight(session: Session, observed: Mapping[int, int]) -> None:
    """acknowledged := `observed[listing id]` for tracked listings never acknowledged and with no
    write out (`stock_writes`); listings acknowledged before keep their number."""
    table, writes = cast(Table, tables.Listing.__table__), cast(Table, tables.StockWrite.__table__)
    now = utcnow()
    for chunk in chunked(sorted(observed.items()), ROWS_PER_STATEMENT):
        stmt, params = update_rows(session, table, "id", [
            {"id": listing, "acknowledged_quantity": quantity, "acknowledged_at": now} for listing, quantity in chunk])
        execute_many(session, stmt.where(table.c.acknowledged_quantity.is_(None), table.c.tracked.is_(True),
                                         ~exists(select(writes.c.id).where(writes.c.listing_id == table.c.id))), params)
