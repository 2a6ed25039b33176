"""Velocity, days of cover, safety stock and reorder points from the ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from store import tables
from store.settings import SupplierSettings
from sync.hub.context import Hub
from sync.planning.plan import dynamic_safety_stock, plan_rows, service_z
from sync.planning.velocity import demand
from tests.sync.timed_ledger import make_variants, move

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def weight(index: int) -> float:
    return 0.5 ** (index / 14)


@pytest.fixture(name="ledger")
def ledger_fixture(hub: Hub) -> dict[str, int]:
    ids = make_variants(hub, "P-1", "P-2", "P-3")
    p1, p2 = ids["P-1"], ids["P-2"]
    move(hub, p1, "r1", ago(10), on_hand=10, reason="receive")
    for key, days, units, channel in (("c1", 0.5, 2, "woo"), ("c2", 1.5, 1, "shop"), ("c3", 3.5, 3, "woo")):
        move(hub, p1, key, ago(days), committed=units, reason="order_commit", source=f"order:{channel}")
    # P-2 sells out nine days ago and is restocked four days ago: the days in between are not demand
    move(hub, p2, "r2", ago(10), on_hand=3, reason="receive")
    move(hub, p2, "c4", ago(9.5), committed=3, reason="order_commit", source="order:woo")
    move(hub, p2, "s4", ago(9.4), on_hand=-3, committed=-3, reason="shipment")
    move(hub, p2, "r3", ago(4.2), on_hand=5, reason="receive")
    move(hub, p2, "c5", ago(0.5), committed=1, reason="order_commit", source="order:woo")
    move(hub, ids["P-3"], "r4", ago(30), on_hand=7, reason="receive")  # never sells
    return ids


def _demand(hub: Hub) -> dict[int, Any]:
    with hub.db.session() as session:
        return demand(session, now=NOW, days=56, half_life_days=14)


def test_velocity_weights_recent_days_and_ignores_days_before_the_first_movement(hub: Hub,
                                                                                ledger: dict[str, int]) -> None:
    found = _demand(hub)[ledger["P-1"]]
    counted = range(10)  # the ten days since it was first received
    expected = (2 * weight(0) + 1 * weight(1) + 3 * weight(3)) / sum(weight(i) for i in counted)
    assert found.days_observed == 10 and found.units == 6
    assert found.velocity == pytest.approx(expected)
    units = {0: 2, 1: 1, 3: 3}
    variance = sum(weight(i) * (units.get(i, 0) - expected) ** 2 for i in counted) / sum(weight(i) for i in counted)
    assert found.deviation == pytest.approx(math.sqrt(variance))
    assert found.by_channel["woo"] == pytest.approx((2 * weight(0) + 3 * weight(3)) / sum(weight(i) for i in counted))
    assert sum(found.by_channel.values()) == pytest.approx(found.velocity)


def test_out_of_stock_days_are_left_out(hub: Hub, ledger: dict[str, int]) -> None:
    found = _demand(hub)[ledger["P-2"]]
    counted = (9, 3, 2, 1, 0)  # sold out from day 9 until the restock during day 4
    assert found.days_observed == len(counted)
    assert found.velocity == pytest.approx((3 * weight(9) + weight(0)) / sum(weight(i) for i in counted))


def test_plan_cover_reorder_point_and_safety_stock(hub: Hub, ledger: dict[str, int]) -> None:
    settings = hub.settings
    settings.planning.suppliers = {"acme": SupplierSettings(lead_time_days=9)}
    with hub.db.session() as session:
        session.add(tables.VariantSupply(variant_id=ledger["P-1"], supplier="acme"))
    with hub.db.session() as session:
        rows = {row.sku: row for row in plan_rows(session, settings, now=NOW)}
    p1 = rows["P-1"]
    assert (p1.lead_time_days, p1.lead_time_source) == (9, "planning.suppliers.acme.lead_time_days")
    assert p1.dynamic_safety_stock == math.ceil(service_z(0.95) * p1.deviation * 3)
    assert (p1.safety_stock, p1.safety_stock_source) == (0, "stock.safety_stock")  # fixed mode
    assert p1.reorder_point == math.ceil(p1.velocity * 9)
    assert p1.available == 4 and p1.days_of_cover == round(4 / p1.velocity, 1)
    assert rows["P-3"].velocity == 0 and rows["P-3"].days_of_cover is None and not rows["P-3"].below_reorder_point

    settings.planning.safety_stock_mode = "dynamic"
    with hub.db.session() as session:
        p1 = plan_rows(session, settings, now=NOW, skus=["P-1"])[0]
    assert p1.safety_stock == p1.dynamic_safety_stock > 0 and p1.safety_stock_source.startswith("dynamic")
    assert p1.reorder_point == math.ceil(p1.velocity * 9 + p1.safety_stock)
    settings.planning.suppliers = {"acme": SupplierSettings(lead_time_days=9, safety_stock=2)}
    with hub.db.session() as session:
        p1 = plan_rows(session, settings, now=NOW, skus=["P-1"])[0]
    assert (p1.safety_stock, p1.safety_stock_source) == (2, "planning.suppliers.acme.safety_stock")
    settings.skus = {"P-1": {"safety_stock": 5}}
    with hub.db.session() as session:
        p1 = plan_rows(session, settings, now=NOW, skus=["P-1"])[0]
    assert (p1.safety_stock, p1.safety_stock_source) == (5, 'skus."P-1".safety_stock')


def test_dynamic_safety_stock_formula() -> None:
    assert service_z(0.95) == pytest.approx(1.6449, abs=1e-4)
    assert dynamic_safety_stock(2.0, 9, 0.95) == math.ceil(1.6449 * 2 * 3)
    assert dynamic_safety_stock(0.0, 9, 0.95) == 0 and dynamic_safety_stock(2.0, 0, 0.95) == 0
