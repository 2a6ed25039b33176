"""Several worker PROCESSES apply movements to the same SKUs at once: no update is lost and a
key delivered to two processes counts once (PostgreSQL, and SQLite file in WAL mode)."""

from __future__ import annotations

import multiprocessing

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from store import tables
from store.db import Database
from sync.stock.ledger import Movement, apply_movement
from sync.stock.locations import hub_location

PROCESSES = 4
MOVEMENTS = 200
SHARED_EVERY = 10  # every 10th movement carries a key that every process also sends


def movements(worker: int, variants: list[int], location: int) -> list[Movement]:
    result = []
    for n in range(MOVEMENTS):
        shared = n % SHARED_EVERY == 0
        key = f"shared:{n}" if shared else f"w{worker}:{n}"
        delta = (n % 7) - 3 or 1
        result.append(Movement(key, variants[n % len(variants)], location, on_hand_delta=delta,
                               committed_delta=1 if n % 3 == 0 else 0, reason="adjust", source=f"worker {worker}"))
    return result


def _work(url: str, worker: int, variants: list[int], location: int, start: object) -> None:
    database = Database(url)
    start.wait()  # type: ignore[attr-defined]
    for movement in movements(worker, variants, location):
        for attempt in range(20):  # a deadlock or lock timeout is retried, as the job queue would
            try:
                with database.session() as session:
                    apply_movement(session, movement)
                break
            except OperationalError:
                if attempt == 19:
                    raise
    database.dispose()


def test_concurrent_processes_lose_no_update(db: Database, database_url: str) -> None:
    with db.session() as session:
        product = tables.Product(title="C")
        session.add(product)
        session.flush()
        rows = [tables.Variant(product_id=product.id, sku=f"C-{i}") for i in range(3)]
        session.add_all(rows)
        session.flush()
        variants, location = [v.id for v in rows], hub_location(session).id
    db.engine.dispose()  # the children open their own connections; none is shared across fork
    context = multiprocessing.get_context("fork")
    start = context.Event()
    procs = [context.Process(target=_work, args=(database_url, w, variants, location, start))
             for w in range(PROCESSES)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    unique: dict[str, Movement] = {}
    for worker in range(PROCESSES):
        for movement in movements(worker, variants, location):
            unique.setdefault(movement.key, movement)
    expected = {v: [0, 0] for v in variants}
    for movement in unique.values():
        expected[movement.variant_id][0] += movement.on_hand_delta
        expected[movement.variant_id][1] += movement.committed_delta
    with db.session() as session:
        levels = {row.variant_id: [row.on_hand, row.committed] for row in session.scalars(select(tables.StockLevel))}
        count = session.scalar(select(func.count()).select_from(tables.StockMovement))
    assert count == len(unique) == PROCESSES * MOVEMENTS - (PROCESSES - 1) * (MOVEMENTS // SHARED_EVERY)
    assert levels == expected
