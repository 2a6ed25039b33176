"""The stock ledger: every change is a movement with a unique idempotency key.

`apply_movement` inserts the movement and updates its level in the caller's transaction
with atomic `UPDATE … SET x = x + delta` statements (no read-modify-write), so concurrent
workers never lose an update. A repeated key is a no-op that returns False. Keys in use:

    order:{account}:{order}:{line}:commit     an open order line commits stock
    order:{account}:{order}:{line}:cancel:{n} cancelled quantity released (n = running total)
    shipment:{shipment}:{line}                shipped: on_hand and committed down
    refund:{account}:{refund}:{line}          refunded with restock: on_hand up
    adjust:{uuid} / receive:{ref}:{row}       manual and CSV changes
    import:{account}:{variant}:{location}     initial stock from a channel
    drift:{account}:{listing}:{observed_at}   a channel edit adopted by the hub
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store import tables
from store.types import utcnow

MOVEMENT_REASONS = ("order_commit", "order_cancel", "shipment", "refund_restock", "adjust", "receive", "import",
                    "drift_adopt", "release")

# Called with (session, variant_ids) after movements change levels: propagation recomputes
# the desired quantity of every listing of those variants in the same transaction.
AfterMovement = Callable[[Session, set[int]], None]
_after_movement: list[AfterMovement] = []


def _load_default_hooks() -> None:
    """Propagation registers itself on import; make sure it is loaded wherever movements happen."""
    if "sync.propagation" not in sys.modules:
        import sync.propagation  # noqa: F401  (registers recompute_desired)


def on_movement(hook: AfterMovement) -> AfterMovement:
    """Register a hook run after `apply_movement` changed a level (in its transaction)."""
    if hook not in _after_movement:
        _after_movement.append(hook)
    return hook


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
    _load_default_hooks()
    _insert(session, tables.StockLevel, {"variant_id": movement.variant_id, "location_id": movement.location_id,
                                         "on_hand": 0, "committed": 0, "updated_at": utcnow()},
            ["variant_id", "location_id"])
    level = tables.StockLevel
    session.execute(
        update(level)
        .where(level.variant_id == movement.variant_id, level.location_id == movement.location_id)
        .values(on_hand=level.on_hand + movement.on_hand_delta,
                committed=level.committed + movement.committed_delta, updated_at=utcnow())
    )
    for hook in _after_movement:
        hook(session, {movement.variant_id})
    return True


def level(session: Session, variant_id: int, location_id: int) -> tuple[int, int]:
    """(on_hand, committed) for one variant at one location; (0, 0) when never moved."""
    row = session.execute(
        select(tables.StockLevel.on_hand, tables.StockLevel.committed)
        .where(tables.StockLevel.variant_id == variant_id, tables.StockLevel.location_id == location_id)
    ).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)
