"""The scheduler reads capabilities: it polls, pulls events and reconciles only what a connector declares."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.base import Capability, connector_class
from sandbox.catalogue import SeedSpec
from sandbox.interface import start_simulator
from store import tables
from store.types import utcnow
from sync.catalog.importing import import_catalog
from sync.hub.accounts import add_account
from sync.hub.context import Hub
from sync.orders import pulled
from sync.service import scheduler
from sync.service.workers import run_worker
from sync.stock.operations import import_stock


def account(hub: Hub, name: str, platform: str, **values: Any) -> int:
    with hub.db.session() as session:
        row = tables.Account(name=name, platform=platform, options={}, **values)
        session.add(row)
        session.flush()
        return row.id


def scheduled(hub: Hub, due: Any) -> set[int]:
    return {args[0] for _, _, args, _ in due(hub)}


def test_each_account_task_goes_only_where_the_connector_declares_it(hub: Hub,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert Capability.PULL_EVENTS in connector_class("taobao").capabilities
    assert Capability.PULL_EVENTS not in connector_class("shopify").capabilities
    shop, tb = account(hub, "shop", "shopify"), account(hub, "tb", "taobao")
    off = account(hub, "off", "shopify", enabled=False)
    failing = account(hub, "failing", "taobao", failing_since=utcnow(), failure="401")
    assert scheduled(hub, scheduler._event_pulls) == {tb}
    assert scheduled(hub, scheduler._order_polls) == {shop, tb}
    assert scheduled(hub, scheduler._reconciles) == {shop, tb}
    assert not {off, failing} & scheduled(hub, scheduler._order_polls)
    # a connector that stops declaring order reads and stock writes is neither polled nor reconciled
    declared = connector_class("shopify").capabilities - {Capability.READ_ORDERS, Capability.WRITE_STOCK}
    monkeypatch.setattr(connector_class("shopify"), "capabilities", declared)
    assert scheduled(hub, scheduler._order_polls) == {tb}
    assert scheduled(hub, scheduler._reconciles) == {tb}


def test_pulled_events_reach_the_ledger_once_and_are_confirmed(hub: Hub) -> None:
    simulator = start_simulator("taobao", seed=SeedSpec(products=2, variants=1, stock=10, seed=3), name="pull")
    try:
        setup = simulator.account_setup()
        add_account(hub, setup.platform, "tb", dict(setup.options), dict(setup.secrets), actor="test")
        import_catalog(hub, "tb")
        import_stock(hub, "tb")
        with hub.db.session() as session:
            tb = session.scalar(select(tables.Account.id).where(tables.Account.name == "tb"))
        assert tb is not None
        placed = simulator.place_order([("MS-0001-1", 2)], buyer="b1")
        counts = pulled.pull_events(hub, tb)
        assert counts["consumed"] >= 1 and counts["stored"] == counts["consumed"]
        run_worker(hub.redis, burst=True)
        with hub.db.session() as session:
            orders = session.scalars(select(tables.Order.external_id).where(tables.Order.account_id == tb)).all()
            stored = session.scalar(select(func.count()).select_from(tables.WebhookEvent)) or 0
        assert list(orders) == [placed.order_id]
        simulator.redeliver_now()  # confirmed messages do not come back
        assert pulled.pull_events(hub, tb) == {"consumed": 0, "stored": 0}
        with hub.db.session() as session:
            assert session.scalar(select(func.count()).select_from(tables.WebhookEvent)) == stored
    finally:
        simulator.stop()
