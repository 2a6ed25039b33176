"""The stock ledger: every change is a movement with a unique idempotency key.

`apply_movement` inserts the movement and upserts its level in the caller's transaction
with one atomic `INSERT … ON CONFLICT DO UPDATE SET x = x + delta` (no read-modify-write), so concurrent
workers never lose an update. A repeated key is a no-op that returns False. The ledger knows
nothing above it: what a movement means for the channels is the caller's unit of work
(`sync.stock.change.StockChange`). Keys in use:

    order:{account}:{order}:{line}:commit     an open order line commits stock
    order:{account}:{order}:{line}:cancel:{n} cancelled quantity released (n = running total)
    shipment:{shipment}:{line}                shipped: on_hand and committed down
    refund:{account}:{refund}:{line}          refunded with restock: on_hand up
    adjust:{uuid} / receive:{ref}:{row}       manual and CSV changes
    import:{account}:{variant}:{location}     initial stock from a channel
    drift:{account}:{listing}:{observed_at}   a channel edit adopted by the hub
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from canonical.quantities import MAX_LEVEL, QuantityOutOfRange
from store import tables
from store.types import utcnow

MOVEMENT_REASONS = ("order_commit", "order_cancel", "shipment", "refund_restock", "adjust", "receive", "import",
                    "drift_adopt", "release", "return", "return_restock", "write_off", "exchange")

@dataclass(frozen=True)
class Movement:
    key: str
    variant_id: int
    location_id: int
    on_hand_delta: int = 0
    committed_delta: int = 0
    reason: str = "adjust"
    source: str = ""
    reference: str = ""


def _insert(session: Session, table: type[tables.Base], values: dict[str, object], conflict_columns: list[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when a row was inserted.

    RETURNING is used because the driver's rowcount is not reliable for this statement.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    primary_key = table.__mapper__.primary_key[0]
    stmt = (dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=conflict_columns)
            .returning(primary_key))
    return session.execute(stmt).first() is not None


def apply_movement(session: Session, movement: Movement) -> bool:
    """Record `movement` and change its level, once per key. Returns False for a repeat."""
    if movement.reason not in MOVEMENT_REASONS:
        raise ValueError(f"unknown movement reason {movement.reason!r}; reasons: {', '.join(MOVEMENT_REASONS)}")
    inserted = _insert(session, tables.StockMovement, {
        "idempotency_key": movement.key, "variant_id": movement.variant_id, "location_id": movement.location_id,
        "on_hand_delta": movement.on_hand_delta, "committed_delta": movement.committed_delta,
        "reason": movement.reason, "source": movement.source, "reference": movement.reference,
        "created_at": utcnow(),
    }, ["idempotency_key"])
    if not inserted:
        return False
    level, now = tables.StockLevel, utcnow()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(level).values(variant_id=movement.variant_id, location_id=movement.location_id,
                                          on_hand=movement.on_hand_delta, committed=movement.committed_delta,
                                          updated_at=now)
    try:  # one atomic upsert: the level is created at the delta or moved by it
        on_hand, committed = session.execute(upsert.on_conflict_do_update(
            index_elements=["variant_id", "location_id"],
            set_={"on_hand": level.on_hand + upsert.excluded.on_hand,
                  "committed": level.committed + upsert.excluded.committed, "updated_at": upsert.excluded.updated_at})
            .returning(level.on_hand, level.committed)).one()
    except DataError:  # PostgreSQL refuses a 32-bit overflow itself
        raise _out_of_range(movement, "a level", "an overflow") from None
    for name, value in (("on_hand", on_hand), ("committed", committed)):
        if not isinstance(value, int) or abs(value) > MAX_LEVEL:  # the caller's transaction rolls back
            raise _out_of_range(movement, name, value)
    return True


def _out_of_range(movement: Movement, name: str, value: object) -> QuantityOutOfRange:
    return QuantityOutOfRange(f"{movement.reason} {movement.reference or movement.key!r} would take {name} to "
                              f"{value}, beyond the ±{MAX_LEVEL:,} a level can hold; nothing was changed")


def level(session: Session, variant_id: int, location_id: int) -> tuple[int, int]:
    """(on_hand, committed) for one variant at one location; (0, 0) when never moved."""
    row = session.execute(
        select(tables.StockLevel.on_hand, tables.StockLevel.committed)
        .where(tables.StockLevel.variant_id == variant_id, tables.StockLevel.location_id == location_id)
    ).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)
