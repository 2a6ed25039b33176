"""Many movements in a few statements: the ledger's path for imports and receipts.

`apply_movement` costs five statements a row (two look-ups by the caller, the movement insert,
the level insert and the level update). `apply_movements` keeps the same rules — one movement per
idempotency key, a repeat is a no-op, a level changes by exactly the movements recorded — with
one `INSERT … ON CONFLICT DO NOTHING RETURNING` of every movement and one level upsert
(`ON CONFLICT DO UPDATE SET on_hand = on_hand + excluded.on_hand`) of every (variant, location)
they change, each compiled once (`store.bulk`: arrays through `unnest` on PostgreSQL, executemany
on SQLite) — compiling 140,000 bound parameters had been most of a 10,000-row receipt. On
PostgreSQL, past a few rows, the two are one statement (the insert a CTE whose recorded rows the
level upsert sums): one round trip, and the levels cost Python nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Select, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import Insert
from sqlalchemy.orm import Session

from store import tables
from store.bulk import FEW_ROWS, execute_many, insert_rows, is_postgresql
from store.types import utcnow
from sync.stock.ledger import MOVEMENT_REASONS, Movement


def apply_movements(session: Session, movements: Sequence[Movement]) -> list[Movement]:
    """Record each movement once per key and change the levels by the ones recorded; returns those
    recorded (a repeated key, in the ledger or earlier in `movements`, is skipped)."""
    for movement in movements:
        if movement.reason not in MOVEMENT_REASONS:
            raise ValueError(f"unknown movement reason {movement.reason!r}; reasons: {', '.join(MOVEMENT_REASONS)}")
    unique: dict[str, Movement] = {}
    for movement in movements:
        unique.setdefault(movement.key, movement)  # the first of each key
    if not unique:
        return []
    now, table = utcnow(), tables.StockMovement.__table__
    stmt, params = insert_rows(session, table, [{
        "idempotency_key": m.key, "variant_id": m.variant_id, "location_id": m.location_id,
        "on_hand_delta": m.on_hand_delta, "committed_delta": m.committed_delta, "reason": m.reason,
        "source": m.source, "reference": m.reference, "created_at": now} for m in unique.values()])
    stmt = stmt.on_conflict_do_nothing(index_elements=["idempotency_key"])
    if is_postgresql(session) and len(unique) > FEW_ROWS:  # movements and levels in one statement
        inserted = {key for (key,) in session.execute(_with_levels(stmt, now), params)}
        return [m for m in unique.values() if m.key in inserted]
    inserted = {key for (key,) in session.execute(stmt.returning(table.c.idempotency_key), params)}
    recorded = [m for m in unique.values() if m.key in inserted]
    _move_levels(session, recorded)
    return recorded


def _with_levels(movements: Insert, now: datetime) -> Select[tuple[str]]:
    """PostgreSQL: the movement insert as a CTE whose recorded rows, summed per (variant, location) in
    key order, upsert the levels in the same statement; selects the recorded keys. The levels are
    moved by exactly the rows inserted, with no round trip and no arrays of their own."""
    table, level = cast(Table, tables.StockMovement.__table__), cast(Table, tables.StockLevel.__table__)
    recorded = movements.returning(table.c.idempotency_key, table.c.variant_id, table.c.location_id,
                                   table.c.on_hand_delta, table.c.committed_delta).cte("recorded")
    totals = (select(recorded.c.variant_id, recorded.c.location_id, func.sum(recorded.c.on_hand_delta),
                     func.sum(recorded.c.committed_delta), bindparam("l_now", now, type_=level.c.updated_at.type))
              .group_by(recorded.c.variant_id, recorded.c.location_id)
              .order_by(recorded.c.variant_id, recorded.c.location_id))
    upsert = postgresql.insert(level).from_select(
        ["variant_id", "location_id", "on_hand", "committed", "updated_at"], totals)
    upsert = upsert.on_conflict_do_update(
        index_elements=["variant_id", "location_id"],
        set_={"on_hand": level.c.on_hand + upsert.excluded.on_hand,
              "committed": level.c.committed + upsert.excluded.committed, "updated_at": upsert.excluded.updated_at})
    return select(recorded.c.idempotency_key).add_cte(upsert.cte("levels"))


def _move_levels(session: Session, movements: Sequence[Movement]) -> None:
    """One upsert row per (variant, location), in key order (concurrent writers lock alike)."""
    totals: dict[tuple[int, int], list[int]] = {}
    for m in movements:
        slot = totals.setdefault((m.variant_id, m.location_id), [0, 0])
        slot[0] += m.on_hand_delta
        slot[1] += m.committed_delta
    if not totals:
        return
    table, now = tables.StockLevel.__table__, utcnow()
    stmt, params = insert_rows(session, table, [
        {"variant_id": variant, "location_id": location, "on_hand": on_hand, "committed": committed,
         "updated_at": now} for (variant, location), (on_hand, committed) in sorted(totals.items())])
    execute_many(session, stmt.on_conflict_do_update(
        index_elements=["variant_id", "location_id"],
        set_={"on_hand": table.c.on_hand + stmt.excluded.on_hand,
              "committed": table.c.committed + stmt.excluded.committed, "updated_at": stmt.excluded.updated_at}),
        params)
