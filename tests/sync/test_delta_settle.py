"""Settling relative (delta) stock writes (issue 15, chaos: 28 of 540 delta-written listings ended one
or two units below the number the hub believed they showed, nothing pending).

- A read of the channel is judged only for listings whose acknowledged number did not move while it
  was read: a sale ingested meanwhile makes the read stale, and adopting it puts the channel below.
- A delta whose answer was lost (a timeout, a worker killed mid-call, the write journal lost with
  Redis) is never sent again: it is undecided until a later read-back tells applied from not applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from connectors.errors import Transient
from connectors.kuaishou.connector import KuaishouConnector
from connectors.liveshop.journal import DeltaJournal
from sandbox.catalogue import SeedSpec
from sandbox.interface import Simulator, start_simulator
from store import tables
from store.types import utcnow
from sync.catalog.importing import import_catalog
from sync.hub.accounts import add_account, get_account
from sync.hub.context import Hub
from sync.orders.polling import poll_orders
from sync.service.workers import run_worker
from sync.stock import operations as stock
from sync.stock import push, readback, reconcile

SPEC = SeedSpec(products=2, variants=1, stock=20, seed=11)
SKU = "MS-0001-1"


@pytest.fixture
def ks(hub: Hub) -> Iterator[Simulator]:
    simulator = start_simulator("kuaishou", seed=SPEC, name="settle-ks")
    try:
        setup = simulator.account_setup()
        add_account(hub, setup.platform, "ks", setup.options, setup.secrets, actor="test")
        import_catalog(hub, "ks", actor="test")
        stock.import_stock(hub, "ks")
        hub.settings.sync.stale_check_delay_s = 0
        work(hub)
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture(autouse=True)
def no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep takes reads and writes left behind at once (in a run: after `STALE_GRACE`)."""
    monkeypatch.setattr(push, "STALE_GRACE", timedelta(0))


def work(hub: Hub) -> None:
    run_worker(hub.redis, burst=True)


def account_id(hub: Hub) -> int:
    with hub.db.session() as session:
        return get_account(session, "ks").id


def hub_view(hub: Hub, sku: str = SKU) -> tuple[int | None, int | None, bool]:
    """(acknowledged, desired, pending) of the sku's listing."""
    with hub.db.session() as session:
        listing = session.scalars(select(tables.Listing).join(tables.Variant)
                                  .where(tables.Variant.sku == sku)).one()
        return listing.acknowledged_quantity, listing.desired_quantity, bool(listing.push_pending)


def writes_left(hub: Hub) -> list[str]:
    with hub.db.session() as session:
        return [row.status for row in session.scalars(select(tables.StockWrite))]


def lose_journal(hub: Hub) -> None:
    """What a Redis restart (empty) or FLUSHDB does to the connectors' write journal (only its keys)."""
    DeltaJournal._local.clear()
    for key in hub.redis.scan_iter("marketsync:delta-journal:*"):
        hub.redis.delete(key)


def settle_all(hub: Hub) -> None:
    """What the workers and the sweep do after the faults stop: pushes, checks, then the sweep's."""
    for _ in range(4):
        work(hub)
        push.push_account(hub, account_id(hub))  # the next push, whatever back-off the account is in
        push.sweep_stale(hub)
        work(hub)


def test_a_sale_ingested_while_reconciliation_reads_is_not_drift(hub: Hub, ks: Simulator,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert (ks.available(SKU), hub_view(hub)) == (20, (20, 20, False))
    real = reconcile.observed_quantities

    def read_then_sell(hub_: Hub, account: tables.Account) -> dict[str, int]:
        seen = real(hub_, account)  # the channel shows 20
        ks.place_order([(SKU, 1)])  # then sells one, and the hub ingests it before comparing
        poll_orders(hub_, account.id)
        return seen

    monkeypatch.setattr(reconcile, "observed_quantities", read_then_sell)
    counts = reconcile.reconcile_account(hub, account_id(hub))
    monkeypatch.undo()
    work(hub)
    # before: the read's 20 was adopted as drift over the hub's 19, the push sent -1: channel 18, hub 19
    assert (ks.available(SKU), hub_view(hub)) == (19, (19, 19, False)), counts
    assert counts["drifted"] == 0


def test_a_stale_read_is_judged_from_a_fresh_read_not_the_kept_number(hub: Hub, ks: Simulator) -> None:
    ks.set_stock(SKU, quantity=17)  # a back-office edit the hub has not seen: the push's read kept 17
    aid = account_id(hub)
    with hub.db.session() as session:
        listing_id = session.scalars(select(tables.Listing.id).join(tables.Variant)
                                     .where(tables.Variant.sku == SKU)).one()
        session.add(tables.StaleRead(listing_id=listing_id, account_id=aid, observed=17, seen_at=utcnow()))
    ks.place_order([(SKU, 1)])  # then a sale: the channel shows 16, the hub's check ingests it (20 → 19)
    readback.check_stale(hub, aid)
    settle_all(hub)
    # before: the kept 17 was taken as the channel's number after the sale, +2 pushed: channel 18, hub 19
    assert (ks.available(SKU), hub_view(hub)) == (19, (19, 19, False))


def answer_lost(monkeypatch: pytest.MonkeyPatch, hub: Hub, error: BaseException, *,
                after: Any = None) -> list[int]:
    """The next stock write is applied by the channel, then its answer is lost (`error` raised)."""
    real, calls = KuaishouConnector.set_stock, []

    def applied_then_lost(self: KuaishouConnector, updates: Any) -> Any:
        results = real(self, updates)
        calls.append(len(updates))
        if len(calls) == 1:
            if after is not None:
                after(self, updates)
            raise error
        return results

    monkeypatch.setattr(KuaishouConnector, "set_stock", applied_then_lost)
    return calls


def test_a_timed_out_delta_the_channel_applied_is_not_sent_again_after_the_journal_is_lost(
        hub: Hub, ks: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    answer_lost(monkeypatch, hub, Transient("kuaishou", "no answer (ReadTimeout)"),
                after=lambda connector, updates: lose_journal(hub))
    stock.adjust(hub, SKU, -2, "default", "damaged", actor="test")
    settle_all(hub)
    # before: the same -2 went out again with its journal gone: channel 16, hub 18
    assert (ks.available(SKU), hub_view(hub)) == (18, (18, 18, False))
    assert writes_left(hub) == []


class Killed(BaseException):
    """SIGKILL of the worker mid-call: nothing after the call runs."""


def test_a_worker_killed_mid_call_leaves_an_undecided_delta_settled_by_a_read_back(
        hub: Hub, ks: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    def journal_still_sending(connector: KuaishouConnector, updates: Any) -> None:
        for update in updates:  # killed before the journal heard the answer
            connector.journal.sending(update.idempotency_id, before=20, delta=update.delta)

    answer_lost(monkeypatch, hub, Killed(), after=journal_still_sending)
    stock.adjust(hub, SKU, 2, "default", "receipt", actor="test")  # desired 22: +2 goes out, applied
    with pytest.raises(Killed):
        push.push_account(hub, account_id(hub))
    assert writes_left(hub) == ["sending"] and ks.available(SKU) == 22
    ks.place_order([(SKU, 2)])  # the channel sells two: it shows 20 again, as it did before the +2
    settle_all(hub)
    # before: "sending" at the number it was sent from read as not sent, +2 went out again: channel 22, hub 20
    assert (ks.available(SKU), hub_view(hub)) == (20, (20, 20, False))
    assert writes_left(hub) == []


def test_the_sweep_queues_a_read_back_for_a_delta_left_sending(hub: Hub, ks: Simulator,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    answer_lost(monkeypatch, hub, Killed())
    stock.adjust(hub, SKU, -3, "default", "damaged", actor="test")
    with pytest.raises(Killed):
        push.push_account(hub, account_id(hub))
    lose_journal(hub)
    assert push.sweep_stale(hub) == 1  # a push that never comes back: the sweep asks
    work(hub)
    assert (ks.available(SKU), hub_view(hub)) == (17, (17, 17, False))
    assert writes_left(hub) == []


def test_a_read_back_polls_after_its_read_so_a_sale_just_before_it_is_not_taken_for_the_delta(
        hub: Hub, ks: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    answer_lost(monkeypatch, hub, Transient("kuaishou", "no answer (ReadTimeout)"))
    stock.adjust(hub, SKU, 1, "default", "receipt", actor="test")  # desired 21: +1 goes out, applied
    with pytest.raises(Transient):
        push.push_account(hub, account_id(hub))
    monkeypatch.undo()
    assert writes_left(hub) == ["undecided"] and ks.available(SKU) == 21
    real, sold = reconcile.observed_quantities, []

    def sell_then_read(hub_: Hub, account: tables.Account) -> dict[str, int]:
        if not sold:  # a sale after any poll, just before the check reads: the channel shows 20
            sold.append(ks.place_order([(SKU, 1)]))
        return real(hub_, account)

    monkeypatch.setattr(reconcile, "observed_quantities", sell_then_read)
    readback.check_stale(hub, account_id(hub))
    monkeypatch.undo()
    settle_all(hub)
    # before (polled, then read): 20 = acknowledged read as "not applied", +1 sent again and the sale
    # not ingested: channel and hub at 21 with one unit sold
    assert (ks.available(SKU), hub_view(hub)) == (20, (20, 20, False))
    assert writes_left(hub) == []
