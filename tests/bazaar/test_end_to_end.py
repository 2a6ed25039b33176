"""Bazaar beside Shopify and WooCommerce through the real CLI: orders exactly once, stock equal
everywhere, Bazaar's submitted deltas acknowledged only once its tasks report them applied."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from sandbox.catalogue import SeedSpec
from sandbox.interface import Simulator, start_simulator
from store import tables
from sync.hub.context import Hub
from tests.sync.simulator_world import add_accounts

STORES = {"shop": "shopify", "woo": "woocommerce", "bz": "bazaar"}
SPEC = SeedSpec(products=3, variants=2, stock=20, seed=5)


@pytest.fixture
def stores(cli: Any, hub: Hub) -> Iterator[dict[str, Simulator]]:
    started = {name: start_simulator(platform, seed=SPEC, name=f"e2e-{name}") for name, platform in STORES.items()}
    try:
        add_accounts(cli, started)
        assert cli("catalog", "import", "--from", "shop").exit_code == 0
        for name in ("woo", "bz"):
            refreshed = cli("catalog", "refresh", name)
            assert refreshed.exit_code == 0, refreshed.output
        assert cli("stock", "import", "--from", "shop").exit_code == 0
        yield started
    finally:
        for simulator in started.values():
            simulator.stop()


def sync_once(cli: Any) -> dict[str, dict[str, Any]]:
    result = cli("sync", "--once", "--json")
    assert result.exit_code == 0, result.output
    return {row["account"]: row for row in json.loads(result.output)["accounts"]}


def levels(stores: dict[str, Simulator], sku: str) -> dict[str, int | None]:
    return {name: store.available(sku) for name, store in stores.items()}


def test_orders_once_and_stock_equal_beside_shopify_and_woocommerce(cli: Any, hub: Hub,
                                                                  stores: dict[str, Simulator]) -> None:
    sync_once(cli)
    placed = {name: stores[name].place_order([("MS-0001-1", n + 1)], buyer=f"b-{name}")
              for n, name in enumerate(STORES)}
    again = stores["bz"].place_order([("MS-0002-2", 4)])
    sync_once(cli)
    sync_once(cli)  # a second round changes nothing: every order is counted once
    listed = json.loads(cli("orders", "list", "--json").output)
    held = sorted((row["account"], row["external_id"]) for row in listed)
    assert held == sorted([(name, order.order_id) for name, order in placed.items()] + [("bz", again.order_id)])
    assert levels(stores, "MS-0001-1") == dict.fromkeys(STORES, 20 - 1 - 2 - 3)
    assert levels(stores, "MS-0002-2") == dict.fromkeys(STORES, 16)
    with hub.db.session() as session:
        assert session.scalar(select(func.count()).select_from(tables.StockWrite)) == 0  # all confirmed
        bazaar = session.scalar(select(tables.Account).where(tables.Account.name == "bz"))
        assert bazaar is not None
        confirmed = session.scalars(select(tables.SyncRun).where(tables.SyncRun.kind == "confirm",
                                                                 tables.SyncRun.account_id == bazaar.id)).all()
    # the hub's deltas on Bazaar, applied once each: the other channels' sales (1 + 2) of MS-0001-1, and
    # nothing for MS-0002-2 (Bazaar's own sale lowered it there already)
    deltas: dict[str, list[int]] = {}
    for write in stores["bz"].writes.entries():
        if write["source"] == "api":
            deltas.setdefault(write["sku"], []).append(write["change"])
    assert sum(deltas["MS-0001-1"]) == -3 and "MS-0002-2" not in deltas, deltas
    # each of them acknowledged by a confirmation run (its task reported done), none assumed
    assert sum(int(run.counts["applied"]) for run in confirmed) == len(deltas["MS-0001-1"])

    # a cancel on Bazaar and a count in the warehouse: the hub follows and republishes everywhere
    stores["bz"].cancel_order(again.order_id, restock=True)
    assert cli("stock", "adjust", "MS-0003-1", "-8", "--reason", "count").exit_code == 0
    sync_once(cli)
    sync_once(cli)
    assert levels(stores, "MS-0002-2") == dict.fromkeys(STORES, 20)
    assert levels(stores, "MS-0003-1") == dict.fromkeys(STORES, 12)
