"""The engine on delta-only platforms (抖店, 快手): a desired quantity goes out as the delta from the
acknowledged one, under an idempotency id that stays the same until the intent is answered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from connectors.stock import StockWriteMode
from sandbox.catalogue import SeedSpec
from sandbox.interface import HUB_SOURCE, Simulator, start_simulator
from store import tables
from sync.catalog.importing import import_catalog, refresh_listings
from sync.hub.accounts import add_account
from sync.hub.context import Hub
from sync.service.workers import run_worker
from sync.stock import operations as stock
from sync.stock.push import push_account, stock_update

SPEC = SeedSpec(products=2, variants=1, stock=20, seed=3)


@pytest.fixture
def shops(hub: Hub) -> Iterator[dict[str, Simulator]]:
    started = {name: start_simulator(platform, seed=SPEC, name=f"delta-{name}")
               for name, platform in (("dy", "douyin"), ("ks", "kuaishou"))}
    try:
        for name, simulator in started.items():
            setup = simulator.account_setup()
            add_account(hub, setup.platform, name, setup.options, setup.secrets, actor="test")
        import_catalog(hub, "dy", actor="test")
        refresh_listings(hub, "ks", actor="test")
        stock.import_stock(hub, "dy")
        run_worker(hub.redis, burst=True)
        yield started
    finally:
        for simulator in started.values():
            simulator.stop()


def hub_writes(simulator: Simulator) -> list[dict[str, Any]]:
    return [w for w in simulator.writes.entries() if w.get("source") == HUB_SOURCE]  # type: ignore[attr-defined]


def test_a_change_reaches_both_delta_platforms_as_one_delta_each(hub: Hub, shops: dict[str, Simulator]) -> None:
    for simulator in shops.values():
        simulator.reset_counters()
    stock.adjust(hub, "MS-0001-1", -3, "default", "count", actor="test")
    run_worker(hub.redis, burst=True)
    with hub.db.session() as session:
        errors = [r.error for r in session.scalars(select(tables.SyncRun).where(tables.SyncRun.error.is_not(None)))]
    for name, simulator in shops.items():
        assert simulator.available("MS-0001-1") == 17, (name, errors)
        assert [w["change"] for w in hub_writes(simulator)] == [-3], name
    with hub.db.session() as session:
        pending = session.scalars(select(tables.Listing).where(tables.Listing.push_pending.is_(True))).all()
        assert pending == []
    stock.adjust(hub, "MS-0001-1", 5, "default", "receipt", actor="test")
    run_worker(hub.redis, burst=True)
    assert {name: s.available("MS-0001-1") for name, s in shops.items()} == {"dy": 22, "ks": 22}


def test_the_same_intent_keeps_its_id_and_an_acknowledgement_makes_a_new_one(hub: Hub,
                                                                           shops: dict[str, Simulator]) -> None:
    with hub.db.session() as session:
        listing = session.scalars(select(tables.Listing).join(tables.Account)
                                  .where(tables.Account.name == "dy")).first()
        assert listing is not None
        listing.desired_quantity = (listing.acknowledged_quantity or 0) - 2
        first, again = stock_update(listing, StockWriteMode.DELTA), stock_update(listing, StockWriteMode.DELTA)
        assert first.delta == -2 and first.idempotency_id == again.idempotency_id
        assert stock_update(listing, StockWriteMode.ABSOLUTE).delta is None
        listing.push_pending = True
        listing_id, account_id = listing.id, listing.account_id
    push_account(hub, account_id)
    with hub.db.session() as session:
        pushed = session.get(tables.Listing, listing_id)
        assert pushed is not None and pushed.push_pending is False
        pushed.desired_quantity = (pushed.acknowledged_quantity or 0) - 2  # the same step again, later
        assert stock_update(pushed, StockWriteMode.DELTA).idempotency_id != first.idempotency_id


def test_a_round_whose_batch_was_all_there_was_reads_the_pending_listings_once(
        hub: Hub, shops: dict[str, Simulator], monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: every push round read the account's pending listings again after its last batch,
    to find none (a transaction of four statements a round); a listing made pending meanwhile comes
    with a request for a push, which sends the job round again."""
    from sync.stock import push

    stock.adjust(hub, "MS-0001-1", -1, "default", "count", actor="test")
    reads: list[int] = []
    real = push.pending_batch

    def counting(*args: Any) -> tuple[list[push.PendingItem], bool]:
        found = real(*args)
        reads.append(len(found[0]))
        return found

    monkeypatch.setattr(push, "pending_batch", counting)
    with hub.db.session() as session:
        dy = session.scalar(select(tables.Account.id).where(tables.Account.name == "dy"))
    assert dy is not None
    report = push_account(hub, dy)
    assert report.sent == 1 and reads == [1]
