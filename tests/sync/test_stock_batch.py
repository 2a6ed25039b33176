"""Many movements in a few statements (`sync.stock.batch`): the ledger's rules hold — one movement
per idempotency key, a repeat is a no-op, each level moves by exactly what was recorded — for a
receipt larger than PostgreSQL binds parameters in one statement."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from store import tables
from sync.hub.context import Hub
from sync.stock import operations as stock
from sync.stock.batch import apply_movements
from sync.stock.ledger import Movement, apply_movement, level
from sync.stock.locations import hub_location

ROWS = 70_000  # past PostgreSQL's 65,535 bound parameters


def two_variants(hub: Hub) -> tuple[int, int, int]:
    with hub.db.session() as session:
        product = tables.Product(title="P")
        session.add(product)
        session.flush()
        first, second = tables.Variant(product_id=product.id, sku="A-1"), tables.Variant(product_id=product.id,
                                                                                        sku="B-1")
        session.add_all([first, second])
        session.flush()
        return first.id, second.id, hub_location(session).id


def test_each_key_is_recorded_once_and_levels_move_by_what_was_recorded(hub: Hub) -> None:
    a, b, location = two_variants(hub)
    with hub.db.session() as session:
        assert apply_movement(session, Movement("m:1", a, location, on_hand_delta=5))
    batch = [Movement("m:1", a, location, on_hand_delta=5),                       # already in the ledger
             Movement("m:2", a, location, on_hand_delta=3, committed_delta=1),
             Movement("m:2", a, location, on_hand_delta=99),                      # repeated in the batch
             Movement("m:3", b, location, on_hand_delta=-2, reason="import")]
    with hub.db.session() as session:
        recorded = apply_movements(session, batch)
    assert [m.key for m in recorded] == ["m:2", "m:3"]
    with hub.db.session() as session:
        assert level(session, a, location) == (8, 1) and level(session, b, location) == (-2, 0)
        assert session.scalar(select(func.count()).select_from(tables.StockMovement)) == 3
        assert apply_movements(session, batch) == []
    with hub.db.session() as session:
        assert level(session, a, location) == (8, 1)


def test_a_receipt_of_more_rows_than_postgres_binds_is_applied_once(hub: Hub, tmp_path: Path) -> None:
    a, b, _ = two_variants(hub)
    receipt = tmp_path / "big.csv"
    rows = [f"{'A-1' if n % 2 else 'B-1'},default,1,PO-{n}" for n in range(ROWS)]
    receipt.write_text("sku,location,quantity,reference\n" + "\n".join(rows) + "\nNOPE,default,1,PO-x\n")
    refused = stock.receive(hub, receipt)  # a file is applied whole or not at all (issue #10)
    assert (refused.applied, refused.repeated) == (0, 0)
    assert [line for line, _ in refused.errors] == [ROWS + 2]
    receipt.write_text("sku,location,quantity,reference\n" + "\n".join(rows) + "\n")
    report = stock.receive(hub, receipt)
    assert (report.applied, report.repeated, report.errors) == (ROWS, 0, [])
    again = stock.receive(hub, receipt)
    assert (again.applied, again.repeated) == (0, ROWS)
    with hub.db.session() as session:
        location = hub_location(session).id
        assert level(session, a, location) == (ROWS // 2, 0) and level(session, b, location) == (ROWS // 2, 0)


def test_the_collector_is_paused_for_a_batch_and_left_as_it_was() -> None:
    import gc

    from sync.hub.collector import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # off before: still off
    finally:
        gc.enable()
