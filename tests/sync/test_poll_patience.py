"""An order poll or a stale check that would wait out a rate pause hands its job back (issue 15).

The short chaos run: a throttled shop's poll and stale check slept in their jobs for 25 s, holding
two of the three workers, while 300 events handed to other accounts' read jobs waited."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from rq.registry import ScheduledJobRegistry

from connectors.waits import nap
from connectors.woocommerce import WooCommerceConnector
from store.types import utcnow
from sync.hub.context import Hub
from sync.hub.queues import enqueue_unique, queue
from sync.orders.polling import enqueue_poll
from sync.service.workers import run_worker
from sync.stock import readback, reconcile
from sync.stock.push import stale_check_id
from tests.sync.order_world import shop_fixture  # noqa: F401 - fixtures


def paused(*_args: Any, **_kwargs: Any) -> Iterator[Any]:
    nap(40, where="a wait for rate points", rate_wait=True)  # the account's budget is paused for 40 s
    raise AssertionError("slept through the pause")


def handed_back_for(hub: Hub, queue_name: str, job_id: str) -> float:
    """Run the queue's jobs in a burst worker; the seconds until the job runs again."""
    started = time.monotonic()
    run_worker(hub.redis, burst=True, queues=[queue_name])
    assert time.monotonic() - started < 10  # the worker was not held for the pause
    registry = ScheduledJobRegistry(queue=queue(queue_name, hub.redis))
    assert job_id in registry.get_job_ids(), "the job was not handed back"
    return (registry.get_scheduled_time(job_id) - utcnow()).total_seconds()


def test_an_order_poll_waiting_out_a_pause_is_handed_back(hub: Hub, shop: dict[str, Any],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WooCommerceConnector, "orders", paused)
    assert enqueue_poll(hub, shop["account_id"])
    assert 35 < handed_back_for(hub, "orders", f"poll-orders-{shop['account_id']}") <= 41
    assert not enqueue_poll(hub, shop["account_id"])  # the handed-back poll is the account's one


def test_a_stale_check_waiting_out_a_pause_is_handed_back(hub: Hub, shop: dict[str, Any],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def stale_now(_hub: Hub, _account_id: int, moment: datetime) -> datetime:
        return moment

    monkeypatch.setattr(readback, "_newest", stale_now)
    monkeypatch.setattr(reconcile, "observed_quantities", paused)
    job_id = stale_check_id(shop["account_id"])
    assert enqueue_unique(hub.redis, "stock", "sync.jobs.check_stale", (shop["account_id"],), job_id)
    assert 35 < handed_back_for(hub, "stock", job_id) <= 41
