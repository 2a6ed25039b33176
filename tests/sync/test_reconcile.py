"""Reconciliation and drift policies, and compare-and-swap on a stale Shopify quantity."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bench.harness import connect_both
from sandbox.catalogue import SeedSpec
from sandbox.shopify import ShopifySandbox
from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from sync.hub.accounts import get_account
from sync.hub.context import Hub
from sync.orders.polling import poll_orders
from sync.service.workers import run_worker
from sync.stock import operations as stock
from sync.stock.push_queue import schedule_pushes
from sync.stock.reconcile import reconcile_account

SPEC = SeedSpec(products=6, variants=1, stock=20)


def work(hub: Hub) -> None:
    run_worker(hub.redis, burst=True)


@pytest.fixture
def channels(hub: Hub) -> Iterator[tuple[WooCommerceSandbox, ShopifySandbox]]:
    with WooCommerceSandbox(spec=SPEC) as woo, ShopifySandbox(spec=SPEC, plan="plus") as shop:
        connect_both(hub, woo, shop)
        yield woo, shop


def shop_available(shop: ShopifySandbox, sku: str) -> int:
    return int(next(iter(shop.quantities(sku).values()))["available"])


def on_hand(hub: Hub, sku: str) -> int:
    return sum(int(r["on_hand"]) for r in stock.levels(hub, [sku]))


def last_run(hub: Hub) -> dict[str, int]:
    with hub.db.session() as session:
        run = session.scalars(select(tables.SyncRun).where(tables.SyncRun.kind == "reconcile")
                              .order_by(tables.SyncRun.id.desc())).first()
        assert run is not None and run.status == "ok"
        return dict(run.counts)


def account_id(hub: Hub, name: str) -> int:
    with hub.db.session() as session:
        return get_account(session, name).id


def test_in_sync_channels_show_no_drift(hub: Hub, channels) -> None:
    counts = reconcile_account(hub, account_id(hub, "woo"))
    assert counts["checked"] == 6 and counts["drifted"] == 0


def test_revert_pushes_the_hub_number_back(hub: Hub, channels) -> None:
    woo, _shop = channels
    woo.set_stock("MS-0002-1", quantity=3)  # a merchant edit in wp-admin
    counts = reconcile_account(hub, account_id(hub, "woo"))
    assert (counts["drifted"], counts["reverted"]) == (1, 1)
    assert last_run(hub)["reverted"] == 1
    work(hub)
    assert woo.stock("MS-0002-1") == 20 and on_hand(hub, "MS-0002-1") == 20


def test_adopt_records_the_difference_and_propagates_it(hub: Hub, channels) -> None:
    woo, shop = channels
    hub.settings.accounts = {"woo": {"drift_policy": "adopt"}}
    woo.set_stock("MS-0003-1", quantity=15)
    counts = reconcile_account(hub, account_id(hub, "woo"))
    assert counts["adopted"] == 1
    history = stock.history(hub, "MS-0003-1")
    assert history[0]["reason"] == "drift_adopt" and history[0]["on_hand_delta"] == -5
    assert history[0]["source"] == "woo"
    work(hub)
    assert on_hand(hub, "MS-0003-1") == 15 and shop_available(shop, "MS-0003-1") == 15
    assert woo.stock("MS-0003-1") == 15


def test_conflict_opens_with_evidence_and_holds_pushes(hub: Hub, channels) -> None:
    woo, shop = channels
    hub.settings.stock.drift_policy = "conflict"
    woo.set_stock("MS-0004-1", quantity=7)
    counts = reconcile_account(hub, account_id(hub, "woo"))
    assert counts["conflicts"] == 1
    with hub.db.session() as session:
        conflict = session.scalar(select(tables.Conflict).where(tables.Conflict.kind == "stock_drift"))
        assert conflict is not None and conflict.status == "open"
        assert conflict.evidence["hub_acknowledged"] == 20 and conflict.evidence["channel_observed"] == 7
        assert conflict.evidence["observed_at"]
    stock.adjust(hub, "MS-0004-1", -1, "default", "count", actor="test")
    work(hub)
    assert woo.stock("MS-0004-1") == 7  # held until an operator decides
    assert shop_available(shop, "MS-0004-1") == 19


def test_a_stale_compare_and_swap_is_resolved_by_the_drift_policy(hub: Hub, channels) -> None:
    woo, shop = channels
    shop.set_stock("MS-0005-1", quantity=11)  # edited on Shopify after the hub's last push
    stock.adjust(hub, "MS-0005-1", -2, "default", "damaged", actor="test")
    work(hub)  # the push compares with 20, finds 11: revert → acknowledged 11, then pushes 18 again
    assert shop_available(shop, "MS-0005-1") == 18 and woo.stock("MS-0005-1") == 18
    with hub.db.session() as session:
        runs = session.scalars(select(tables.SyncRun).where(tables.SyncRun.kind == "push")).all()
    assert any(r.counts.get("stale") for r in runs)
    assert schedule_pushes(hub) == []


def test_a_stale_compare_that_the_sale_explains_is_pushed_again_without_the_check(hub: Hub, channels) -> None:
    woo, shop = channels
    hub.settings.sync.stale_check_delay_s = 600  # the check job is far away: only the sale's ingest can settle it
    shop.place_order([{"sku": "MS-0006-1", "quantity": 2}])  # Shopify now shows 18; the hub has not heard
    stock.adjust(hub, "MS-0006-1", -1, "default", "damaged", actor="test")
    work(hub)  # compares 20 with Shopify's 18: refused as stale, the read kept
    with hub.db.session() as session:
        assert [r.observed for r in session.scalars(select(tables.StaleRead))] == [18]
    poll_orders(hub, account_id(hub, "shop"))  # the sale arrives (as its webhook would bring it)
    with hub.db.session() as session:
        assert session.scalars(select(tables.StaleRead)).all() == []
    work(hub)
    assert shop_available(shop, "MS-0006-1") == 17 and woo.stock("MS-0006-1") == 17
    assert on_hand(hub, "MS-0006-1") == 19


def test_the_sweep_queues_one_stale_check_per_account_however_often_it_runs(hub: Hub) -> None:
    """Issue 15 (chaos): every sweep queued a new stale check (ids unique per call) for an account with
    old stale reads; the checks, each an order poll of a throttled shop, piled up on the stock queue
    and held every worker while events, polls and shipment pushes waited."""
    from datetime import timedelta

    from rq.job import JobStatus
    from rq.registry import ScheduledJobRegistry

    from store.types import utcnow
    from sync.hub.queues import queue
    from sync.stock import push

    with hub.db.session() as session:
        shop = tables.Account(name="shop", platform="shopify", options={})
        session.add(shop)
        session.flush()
        listing = tables.Listing(account_id=shop.id, external_product_id="p", external_variant_id="v")
        session.add(listing)
        session.flush()
        session.add(tables.StaleRead(listing_id=listing.id, account_id=shop.id, observed=3,
                                     seen_at=utcnow() - timedelta(minutes=5)))
        shop_id = shop.id
    hub.settings.sync.stale_check_delay_s = 3  # a check first waits for the sale's own event
    stock_queue = queue("stock", hub.redis)
    scheduled = ScheduledJobRegistry(queue=stock_queue)
    for _ in range(5):
        push.sweep_stale(hub)
    assert scheduled.get_job_ids() + stock_queue.job_ids == [f"check-stale-{shop_id}"]
    # while it runs, the sweep queues nothing more: the running check takes new reads in its next round
    first = stock_queue.fetch_job(f"check-stale-{shop_id}")
    assert first is not None
    first.set_status(JobStatus.STARTED)
    hub.redis.zrem(scheduled.key, first.id)  # a worker took it
    stock_queue.remove(first.id)
    for _ in range(5):
        push.sweep_stale(hub)
    assert scheduled.get_job_ids() + stock_queue.job_ids == []
    hub.settings.sync.stale_check_delay_s = 0
    hub.redis.flushdb()  # a check lost with Redis does not block the next one
    for _ in range(3):
        push.sweep_stale(hub)
    assert stock_queue.job_ids == [f"check-stale-{shop_id}"]


def test_a_stale_check_polls_once_after_its_read_of_the_channel(
        hub: Hub, channels, monkeypatch: pytest.MonkeyPatch) -> None:
    """A check reads the channel, then polls the orders (a sale between a poll and the read would be
    in the channel's number and not in the hub's), one poll per round: one round settles this read."""
    from sync.stock import readback, reconcile

    _woo, shop = channels
    hub.settings.sync.stale_check_delay_s = 600  # the check runs below, by hand
    shop.set_stock("MS-0003-1", quantity=11)  # edited on Shopify: a drift no sale explains
    stock.adjust(hub, "MS-0003-1", -2, "default", "damaged", actor="test")
    work(hub)  # the compare finds 11: refused as stale, the read kept
    with hub.db.session() as session:
        assert [r.observed for r in session.scalars(select(tables.StaleRead))] == [11]
    polls: list[int] = []
    monkeypatch.setattr(reconcile, "ingest_recent_orders", lambda hub, account: polls.append(account) or True)
    poll_orders(hub, account_id(hub, "shop"))  # the periodic poll, before the check's read
    counts = readback.check_stale(hub, account_id(hub, "shop"))
    assert polls == [account_id(hub, "shop")] and counts["reverted"] == 1  # the drift policy settled it
    work(hub)
    assert shop_available(shop, "MS-0003-1") == 18
