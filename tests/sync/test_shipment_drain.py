"""An account's pending shipments are pushed by one job, on one connector (issue 15).

In the chaos run every shipment had a job of its own on the orders queue; 406 of 721 were still
pending at the deadline. Now one drain per account: requests coalesce, a refusal or a transient
failure of one shipment does not hold the others, and a dead drain is taken over within its lease.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from connectors.base import ShipmentPush, ShipmentResult
from connectors.errors import Rejected, Transient
from connectors.woocommerce import WooCommerceConnector
from store import tables
from store.types import utcnow
from sync.hub.context import Hub
from sync.hub.queues import queue
from sync.orders import shipment_queue
from sync.service.workers import run_worker
from sync.stock import push_queue
from tests.sync.order_world import ingest, order, ship, shop_fixture  # noqa: F401 - fixtures


def three_shipments(hub: Hub) -> list[int]:
    ingest(hub, order())  # 3 units of A-1: three parcels of one unit each
    return [ship(hub, {"A-1": 1}, tracking=f"TRK{n}").id for n in (1, 2, 3)]


def channel(monkeypatch: pytest.MonkeyPatch, failing: dict[str, Exception]) -> dict[str, Any]:
    """A WooCommerce channel that takes every push but those whose tracking is in `failing`."""
    seen: dict[str, Any] = {"pushes": [], "connectors": 0}
    built = WooCommerceConnector.__init__

    def init(self: WooCommerceConnector, *args: Any, **kwargs: Any) -> None:
        seen["connectors"] += 1
        built(self, *args, **kwargs)

    def push(self: WooCommerceConnector, request: ShipmentPush) -> ShipmentResult:
        seen["pushes"].append(request.tracking_number)
        if request.tracking_number in failing:
            raise failing[request.tracking_number]
        return ShipmentResult(external_id=f"note-{request.tracking_number}")

    monkeypatch.setattr(WooCommerceConnector, "__init__", init)
    monkeypatch.setattr(WooCommerceConnector, "push_shipment", push)
    monkeypatch.setattr(WooCommerceConnector, "order", lambda self, external_id: order(external_id=external_id))
    return seen


def statuses(hub: Hub, ids: list[int]) -> list[str]:
    with hub.db.session() as session:
        return [row.push_status for row in (session.get(tables.Shipment, i) for i in ids) if row is not None]


def test_one_job_pushes_every_pending_shipment_of_the_account(hub: Hub, shop: dict[str, Any],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    seen = channel(monkeypatch, {})
    ids = three_shipments(hub)
    assert all(shipment_queue.enqueue_push(hub, i) for i in ids)
    assert queue("shipments", hub.redis).count == 1  # the requests coalesced into one drain
    run_worker(hub.redis, burst=True)
    assert statuses(hub, ids) == ["pushed"] * 3
    assert seen["pushes"] == ["TRK1", "TRK2", "TRK3"] and seen["connectors"] == 1


def test_a_refusal_is_the_shipments_own_and_the_drain_goes_on(hub: Hub, shop: dict[str, Any],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    channel(monkeypatch, {"TRK1": Rejected("woo shipment", "the order is already completed")})
    ids = three_shipments(hub)
    shipment_queue.enqueue_push(hub, ids[0])
    run_worker(hub.redis, burst=True)
    assert statuses(hub, ids) == ["rejected", "pushed", "pushed"]


def test_a_transient_failure_backs_off_and_the_others_go_first_next_time(hub: Hub, shop: dict[str, Any],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    hub.settings.workers.retry_intervals_s = [0, 0, 0]  # the backoff: 1 ms
    seen = channel(monkeypatch, {"TRK1": Transient("woo shipment", "503 from the store")})
    ids = three_shipments(hub)
    shipment_queue.enqueue_push(hub, ids[0])
    run_worker(hub.redis, burst=True)
    assert seen["pushes"] == ["TRK1"] and statuses(hub, ids) == ["pending"] * 3  # stopped: the account's trouble
    time.sleep(0.01)
    assert shipment_queue.sweep(hub) == 1
    run_worker(hub.redis, burst=True)
    assert seen["pushes"][1:3] == ["TRK2", "TRK3"]  # fewest attempts first: the failing one waits behind
    assert statuses(hub, ids)[1:] == ["pushed", "pushed"]


def test_a_drain_whose_worker_died_is_taken_over_after_its_lease(hub: Hub, shop: dict[str, Any],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    channel(monkeypatch, {})
    ids = three_shipments(hub)
    lane, account_id = shipment_queue.LANE, shop["account_id"]
    assert push_queue.claim(hub, account_id, "killed-job", lane)
    assert shipment_queue.sweep(hub) == 0  # a live holder drains them
    with hub.db.session() as session:
        row = session.get(tables.ShipmentClaim, account_id)
        assert row is not None
        row.claimed_at = utcnow() - push_queue.LEASE - timedelta(seconds=1)  # it stopped renewing
    assert len(push_queue.revive_expired(hub, lane)) == 1
    run_worker(hub.redis, burst=True)
    assert statuses(hub, ids) == ["pushed"] * 3


def test_a_rate_limit_past_its_patience_hands_the_job_back_without_an_attempt(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The short chaos run: shipment drains sat out throttling storms (429, Retry-After) in the client's
    retries, holding their workers. Past `PATIENCE_S` the job is handed back for after the wait: the
    account backs off meanwhile and the shipment keeps its attempts."""
    from rq.registry import ScheduledJobRegistry

    from connectors.errors import RateLimited
    from connectors.http import HttpPolicy, call

    naps: list[float] = []
    monkeypatch.setattr("connectors.http.nap", lambda seconds, **_: naps.append(seconds))
    calls: list[str] = []

    def storm(self: WooCommerceConnector, request: ShipmentPush) -> ShipmentResult:
        def attempt() -> ShipmentResult:
            calls.append(request.tracking_number)
            raise RateLimited("woo shipment", retry_after=5.0)
        return call(attempt, where="woo shipment", policy=HttpPolicy())

    channel(monkeypatch, {})
    monkeypatch.setattr(WooCommerceConnector, "push_shipment", storm)
    ids = three_shipments(hub)
    shipment_queue.enqueue_push(hub, ids[0])
    run_worker(hub.redis, burst=True)
    assert calls == ["TRK1"] and naps == []  # one request, no retry slept in the job
    assert statuses(hub, ids) == ["pending"] * 3
    with hub.db.session() as session:
        assert session.get(tables.Shipment, ids[0]).push_attempts == 0  # type: ignore[union-attr]
    assert ScheduledJobRegistry(queue=queue("shipments", hub.redis)).count == 1  # runs again after the wait
    assert shipment_queue.request(hub, [shop["account_id"]]) == []  # requests meanwhile wait for it
