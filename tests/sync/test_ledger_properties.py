"""Property: for any interleaving of orders, cancels, shipments, refunds, adjustments, duplicate
deliveries, retries and crashed transactions, every level equals the replay of its movements
and each idempotency key counts once (SQLite file and PostgreSQL)."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from store import tables
from store.db import Database
from sync.stock.ledger import Movement, apply_movement
from sync.stock.locations import hub_location

_runs = itertools.count()

# kind → (on_hand sign, committed sign, reason)
KINDS = {
    "order": (0, 1, "order_commit"),
    "cancel": (0, -1, "order_cancel"),
    "ship": (-1, -1, "shipment"),
    "refund": (1, 0, "refund_restock"),
    "adjust_in": (1, 0, "adjust"),
    "adjust_out": (-1, 0, "adjust"),
}

event = st.tuples(st.sampled_from(sorted(KINDS)), st.integers(0, 2), st.integers(1, 5), st.integers(0, 15))
# (events, how many events share one transaction, indexes of events re-delivered, transactions that crash)
scenario = st.tuples(st.lists(event, min_size=1, max_size=30), st.integers(1, 4),
                     st.lists(st.integers(0, 29), max_size=10), st.sets(st.integers(0, 10), max_size=3))


def _setup(db: Database, run: int) -> tuple[list[int], int]:
    with db.session() as session:
        product = tables.Product(title=f"P{run}")
        session.add(product)
        session.flush()
        variants = [tables.Variant(product_id=product.id, sku=f"R{run}-{i}") for i in range(3)]
        session.add_all(variants)
        session.flush()
        return [v.id for v in variants], hub_location(session).id


def _movement(run: int, item: tuple[str, int, int, int], variants: list[int], location: int) -> Movement:
    kind, sku, quantity, key = item
    on_hand_sign, committed_sign, reason = KINDS[kind]
    # the key names the event (kind, SKU, n): a duplicate delivery carries the same key and quantity
    return Movement(f"{run}:{kind}:{sku}:{key}", variants[sku], location, on_hand_delta=on_hand_sign * quantity,
                    committed_delta=committed_sign * quantity, reason=reason, source="prop")


class Crash(Exception):
    pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario)
def test_levels_equal_the_replay_of_unique_movements(db: Database, case) -> None:
    events, per_transaction, redeliveries, crashes = case
    run = next(_runs)
    variants, location = _setup(db, run)
    stream = list(events) + [events[i] for i in redeliveries if i < len(events)]
    expected: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    counted: dict[str, tuple[int, int, int]] = {}
    for number, start in enumerate(range(0, len(stream), per_transaction)):
        chunk = [_movement(run, item, variants, location) for item in stream[start:start + per_transaction]]
        # first occurrence of a key wins (a redelivery with another quantity is still the same event)
        chunk = [m for m in chunk if m.key not in counted] + [m for m in chunk if m.key in counted]
        try:
            with db.session() as session:
                applied = [m for m in chunk if apply_movement(session, m)]
                if number in crashes:
                    raise Crash  # the worker died mid-job: nothing of this transaction stays
        except Crash:
            # the job is retried: the same movements again, in a new transaction
            with db.session() as session:
                applied = [m for m in chunk if apply_movement(session, m)]
        for m in applied:
            assert m.key not in counted, f"key {m.key} counted twice"
            counted[m.key] = (m.variant_id, m.on_hand_delta, m.committed_delta)
            expected[m.variant_id][0] += m.on_hand_delta
            expected[m.variant_id][1] += m.committed_delta
    with db.session() as session:
        levels = {row.variant_id: [row.on_hand, row.committed] for row in session.scalars(
            select(tables.StockLevel).where(tables.StockLevel.variant_id.in_(variants)))}
        replay: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for m in session.scalars(select(tables.StockMovement).where(tables.StockMovement.variant_id.in_(variants))):
            replay[m.variant_id][0] += m.on_hand_delta
            replay[m.variant_id][1] += m.committed_delta
        keys = session.scalar(select(func.count()).select_from(tables.StockMovement)
                              .where(tables.StockMovement.variant_id.in_(variants)))
    assert keys == len(counted)
    for variant in variants:
        assert levels.get(variant, [0, 0]) == replay[variant] == expected[variant]


@pytest.mark.parametrize("repeat", [2, 5])
def test_the_same_delivery_many_times_is_one_movement(db: Database, repeat: int) -> None:
    run = next(_runs)
    variants, location = _setup(db, run)
    move = _movement(run, ("order", 0, 3, 1), variants, location)
    results = []
    for _ in range(repeat):
        with db.session() as session:
            results.append(apply_movement(session, move))
    assert results == [True] + [False] * (repeat - 1)
