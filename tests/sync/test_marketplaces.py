"""The hub on 淘宝, 拼多多 and 京东 simulators through the real CLI: orders exactly once, stock equal
everywhere, masks only, a reduction refused for platform-held stock surfaced, shipments with
carrier mapping (and an unknown carrier refused naming the platform's list)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.catalogue import SeedSpec
from sandbox.interface import Simulator, start_simulator
from sync.hub.context import Hub
from sync.service.workers import run_worker
from tests.sync.simulator_world import add_accounts

PLATFORMS = {"tb": "taobao", "pdd": "pinduoduo", "jd": "jd"}
SPEC = SeedSpec(products=3, variants=2, stock=20, seed=5)


@pytest.fixture
def stores(cli: Any, hub: Hub) -> Iterator[dict[str, Simulator]]:
    started = {name: start_simulator(platform, seed=SPEC, name=f"e2e-{name}") for name, platform in PLATFORMS.items()}
    try:
        add_accounts(cli, started)
        imported = cli("catalog", "import", "--from", "tb")
        assert imported.exit_code == 0, imported.output
        for name in ("pdd", "jd"):
            refreshed = cli("catalog", "refresh", name)
            assert refreshed.exit_code == 0, refreshed.output
        assert cli("stock", "import", "--from", "tb").exit_code == 0
        yield started
    finally:
        for simulator in started.values():
            simulator.stop()


def sync_once(cli: Any, *, failing: str | None = None) -> dict[str, dict[str, Any]]:
    """One cycle; with `failing`, that account's failure makes the command exit 1 (and names it)."""
    result = cli("sync", "--once", "--json")
    assert result.exit_code == (1 if failing else 0), result.output
    if failing:
        assert f"failed: {failing}" in result.stderr
    return {row["account"]: row for row in json.loads(result.stdout)["accounts"]}


def test_orders_once_stock_equal_and_shipments_once_everywhere(cli: Any, hub: Hub,
                                                               stores: dict[str, Simulator]) -> None:
    sync_once(cli)
    placed = {name: stores[name].place_order([("MS-0001-1", n + 1)], buyer=f"b-{name}")
              for n, name in enumerate(PLATFORMS)}
    sync_once(cli)
    sync_once(cli)
    listed = json.loads(cli("orders", "list", "--json").output)
    held = [(row["account"], row["external_id"]) for row in listed]
    assert sorted(held) == sorted((name, order.order_id) for name, order in placed.items())
    expected = 20 - 1 - 2 - 3
    assert {name: store.available("MS-0001-1") for name, store in stores.items()} == dict.fromkeys(PLATFORMS,
                                                                                                   expected)
    shown = cli("orders", "show", f"tb:{placed['tb'].order_id}").output
    plain = stores["tb"].shop.store.trades[int(placed["tb"].order_id)].receiver  # type: ignore[attr-defined]
    assert plain.name[0] + "*" * (len(plain.name) - 1) in shown and plain.name not in shown
    # then buyers cancel, merchants refund, and the warehouse ships what is left
    orders = {name: [store.place_order([("MS-0002-2", 2)], buyer=f"{name}-{n}") for n in range(3)]
              for name, store in stores.items()}
    sync_once(cli)
    for name, store in stores.items():
        store.cancel_order(orders[name][0].order_id)
        store.refund_order(orders[name][1].order_id, restock=True)
    sync_once(cli)
    sync_once(cli)
    levels = {name: store.available("MS-0002-2") for name, store in stores.items()}
    assert len(set(levels.values())) == 1 and levels["tb"] == 20 - 3 * 2, levels  # three kept orders of two
    for name in stores:
        created = cli("ship", "create", f"{name}:{orders[name][2].order_id}", "--carrier", "SF",
                      "--tracking", f"SF-{name}")
        assert created.exit_code == 0, created.output
    run_worker(hub.redis, burst=True)
    assert cli("ship", "push").exit_code == 0  # a second push of the same shipments changes nothing
    run_worker(hub.redis, burst=True)
    for name, store in stores.items():
        shipments = store.shipments()
        assert [s.tracking_number for s in shipments] == [f"SF-{name}"], (name, shipments)
        assert shipments[0].carrier == {"tb": "SF", "pdd": "44", "jd": "467"}[name]


def test_a_reduction_below_pdds_held_stock_is_refused_and_reported(cli: Any, hub: Hub,
                                                                   stores: dict[str, Simulator]) -> None:
    sync_once(cli)
    stores["pdd"].place_unpaid_order([("MS-0002-1", 15)])  # type: ignore[attr-defined]
    assert cli("stock", "adjust", "MS-0002-1", "-10", "--reason", "count").exit_code == 0
    rows = sync_once(cli, failing="pdd")
    assert rows["pdd"]["failed"] >= 1 and any("预扣库存" in error for error in rows["pdd"]["errors"])
    assert stores["tb"].available("MS-0002-1") == 10 and stores["jd"].available("MS-0002-1") == 10
    assert stores["pdd"].available("MS-0002-1") == 5  # 20 held-inclusive, 15 held by the unpaid order


def test_shipments_map_the_carrier_and_an_unknown_one_names_the_list(cli: Any, hub: Hub,
                                                                    stores: dict[str, Simulator]) -> None:
    placed = {name: [store.place_order([("MS-0003-1", 1)]) for _ in range(2)] for name, store in stores.items()}
    sync_once(cli)
    for name, (good, bad) in placed.items():
        assert cli("ship", "create", f"{name}:{good.order_id}", "--carrier", "顺丰",
                   "--tracking", f"SF-{name}").exit_code == 0
        assert cli("ship", "create", f"{name}:{bad.order_id}", "--carrier", "Royal Mail",
                   "--tracking", f"RM-{name}").exit_code == 0
    run_worker(hub.redis, burst=True)
    for name, (good, bad) in placed.items():
        [shipment] = stores[name].shipments(good.order_id)
        assert shipment.tracking_number == f"SF-{name}" and shipment.carrier == {"tb": "SF", "pdd": "44",
                                                                                "jd": "467"}[name]
        assert stores[name].shipments(bad.order_id) == []
        detail = json.loads(cli("orders", "show", f"{name}:{bad.order_id}", "--json").output)
        [failed] = detail["shipments"]
        assert failed["push_status"] == "rejected" and "unknown carrier 'Royal Mail'" in failed["push_error"]
        assert "顺丰" in failed["push_error"], failed["push_error"]
