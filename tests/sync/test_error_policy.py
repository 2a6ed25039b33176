"""What a failing job does is decided by the error's class: retried by RQ, retried after the
platform's wait, the account marked failing, or refused and recorded — never swallowed."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from connectors.base import Health, ShipmentPush, ShipmentResult
from connectors.errors import AuthFailed, RateLimited, Rejected, Transient
from connectors.events import ChannelEvent, EventSubject, SubjectKind
from connectors.woocommerce import WooCommerceConnector
from store import tables
from store.types import utcnow
from sync import jobs
from sync.hub.context import Hub
from sync.hub.queues import REQUEUE_LOCK, enqueue_unique, queue, requeue_due_retries
from sync.orders import events, reads, shipment_queue
from sync.orders.shipment_queue import enqueue_push
from sync.orders.shipments import due_for_push
from sync.service import scheduler
from sync.service.workers import run_worker
from tests.sync.order_world import ingest, order, ship, shop_fixture  # noqa: F401 - fixtures


def shipped(hub: Hub) -> int:
    ingest(hub, order())
    shipment = ship(hub, None)
    return shipment.id


def refuse_with(monkeypatch: pytest.MonkeyPatch, error: Exception) -> list[ShipmentPush]:
    calls: list[ShipmentPush] = []

    def push_shipment(self: WooCommerceConnector, request: ShipmentPush) -> ShipmentResult:
        calls.append(request)
        raise error

    monkeypatch.setattr(WooCommerceConnector, "push_shipment", push_shipment)
    # a refused push re-reads its order (`sync.orders.shipment_push`): it is still open on the channel
    monkeypatch.setattr(WooCommerceConnector, "order", lambda self, external_id: order(external_id=external_id))
    return calls


def shipment_row(hub: Hub, shipment_id: int) -> tables.Shipment:
    with hub.db.session() as session:
        row = session.get(tables.Shipment, shipment_id)
        assert row is not None
        return row


def scheduled_in(hub: Hub, job_id: str, queue_name: str = "orders") -> float:
    """Seconds from now until RQ's scheduler requeues `job_id` (on `queue_name`)."""
    registry = ScheduledJobRegistry(queue=queue(queue_name, hub.redis))
    assert job_id in registry.get_job_ids()
    return (registry.get_scheduled_time(job_id) - utcnow()).total_seconds()


def backoff_left(hub: Hub, account_id: int) -> float:
    """Seconds until the account's shipments may be drained again (0: not backing off)."""
    return max(hub.redis.pttl(shipment_queue.LANE.backoff_key.format(account_id=account_id)), 0) / 1000


def test_a_transient_failure_backs_the_account_off_for_the_first_retry_interval(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    hub.settings.workers.retry_intervals_s = [600, 1200]
    calls = refuse_with(monkeypatch, Transient("woo shipment", "502 from the store"))
    shipment_id = shipped(hub)
    enqueue_push(hub, shipment_id)
    run_worker(hub.redis, burst=True)
    assert len(calls) == 1
    assert 590 < backoff_left(hub, shop["account_id"]) <= 600
    assert ScheduledJobRegistry(queue=queue("shipments", hub.redis)).count == 0  # no RQ retry of its own
    row = shipment_row(hub, shipment_id)
    assert row.push_status == "pending" and "502" in (row.push_error or "")
    assert shipment_queue.sweep(hub) == 0  # the sweep waits for the backoff too


def test_attempts_beyond_the_retry_intervals_leave_the_push_failed(hub: Hub, shop: dict[str, Any],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    hub.settings.workers.retry_intervals_s = [0, 0]  # two retries, at once
    calls = refuse_with(monkeypatch, Transient("woo shipment", "timed out"))
    shipment_id = shipped(hub)
    enqueue_push(hub, shipment_id)
    for _ in range(4):
        run_worker(hub.redis, burst=True)
        time.sleep(0.01)  # the 1 ms backoff
        shipment_queue.sweep(hub)
    assert len(calls) == 3
    row = shipment_row(hub, shipment_id)
    assert row.push_status == "failed" and row.push_attempts == 3
    with hub.db.session() as session:
        assert due_for_push(session) == [] and due_for_push(session, now_forced=True) == [shipment_id]


def test_rate_limited_waits_what_the_platform_asked(hub: Hub, shop: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    hub.settings.workers.retry_intervals_s = [5]
    refuse_with(monkeypatch, RateLimited("woo shipment", retry_after=42.2))
    shipment_id = shipped(hub)
    enqueue_push(hub, shipment_id)
    run_worker(hub.redis, burst=True)
    assert 40 < backoff_left(hub, shop["account_id"]) <= 43


def test_the_hub_scheduler_requeues_a_retry_once_its_wait_is_over(hub: Hub) -> None:
    job_id = "ping-later"
    assert enqueue_unique(hub.redis, "orders", "sync.jobs.ping", (), job_id, delay=timedelta(seconds=42))
    assert requeue_due_retries(hub.redis) == 0  # still waiting
    hub.redis.delete(REQUEUE_LOCK)  # one caller per 0.9 s: let the scheduler's tick be the next one
    registry = ScheduledJobRegistry(queue=queue("orders", hub.redis))
    hub.redis.zadd(registry.key, {job_id: time.time() - 1})  # the wait is over
    scheduler.build_scheduler(hub).tick(now=-1.0)  # nothing periodic is due at this clock
    assert job_id in queue("orders", hub.redis).job_ids and registry.count == 0


def test_a_refusal_is_recorded_with_its_reason_and_never_retried(hub: Hub, shop: dict[str, Any],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls = refuse_with(monkeypatch, Rejected("woo shipment", "the order is already completed"))
    shipment_id = shipped(hub)
    enqueue_push(hub, shipment_id)
    run_worker(hub.redis, burst=True)
    assert len(calls) == 1
    assert ScheduledJobRegistry(queue=queue("shipments", hub.redis)).count == 0
    row = shipment_row(hub, shipment_id)
    assert row.push_status == "rejected" and "already completed" in (row.push_error or "")
    with hub.db.session() as session:
        assert due_for_push(session, now_forced=True) == []


def test_bad_credentials_mark_the_account_failing_until_it_works_again(hub: Hub, cli: Any, shop: dict[str, Any],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls = refuse_with(monkeypatch, AuthFailed("woo shipment", "401 consumer key is invalid"))
    shipment_id = shipped(hub)
    enqueue_push(hub, shipment_id)
    run_worker(hub.redis, burst=True)
    assert len(calls) == 1  # not retried like a timeout
    account_id = shop["account_id"]
    status = json.loads(cli("status", "--json").output)
    assert [row["account"] for row in status["failing_accounts"]] == ["woo"]
    assert "consumer key is invalid" in status["failing_accounts"][0]["error"]
    with hub.db.session() as session:
        conflict = session.scalar(select(tables.Conflict).where(tables.Conflict.kind == "account_failing"))
        assert conflict is not None and conflict.status == "open" and conflict.account_id == account_id
    # its jobs stop: the scheduler gives it only a probe, and a queued job ends at once
    assert account_id not in {args[0] for _, _, args, _ in scheduler._order_polls(hub)}
    assert [args for _, _, args, _ in scheduler._probes(hub)] == [(account_id,)]
    assert jobs.poll_orders(account_id)["skipped"]
    assert shipment_row(hub, shipment_id).push_status == "pending"  # waits for the account
    with hub.db.session() as session:
        assert due_for_push(session, now_forced=True) == []
    # the credentials are fixed: the probe finds the account working, the conflict closes, the push goes
    monkeypatch.setattr(WooCommerceConnector, "health", lambda self: Health(ok=True, shop_name="woo"))
    monkeypatch.setattr(WooCommerceConnector, "push_shipment",
                        lambda self, request: ShipmentResult(external_id="note-1"))
    assert jobs.probe_account(account_id)["cleared"] is True
    run_worker(hub.redis, burst=True)
    assert shipment_row(hub, shipment_id).push_status == "pushed"
    with hub.db.session() as session:
        conflict = session.scalar(select(tables.Conflict).where(tables.Conflict.kind == "account_failing"))
        assert conflict is not None and conflict.status == "resolved"
    assert json.loads(cli("status", "--json").output)["failing_accounts"] == []


def test_an_event_job_no_longer_swallows_errors(hub: Hub, shop: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    hub.settings.workers.retry_intervals_s = [900]
    monkeypatch.setattr(WooCommerceConnector, "event_subject",
                        lambda self, event: EventSubject(SubjectKind.ORDER, "500"))
    with hub.db.session() as session:
        account = session.get(tables.Account, shop["account_id"])
        assert account is not None
        first = events.store_event(session, account, ChannelEvent("evt-1", "order.updated", {}))
        second = events.store_event(session, account, ChannelEvent("evt-2", "order.updated", {}))
    assert first and second

    def unavailable(self: WooCommerceConnector, external_id: str) -> Any:
        raise Transient("woo order 500", "503")

    monkeypatch.setattr(WooCommerceConnector, "order", unavailable)
    assert reads.hand_over(hub, [first]) == 1
    [job_id] = queue("reads", hub.redis).job_ids
    run_worker(hub.redis, burst=True)
    assert 890 < scheduled_in(hub, job_id, "reads") <= 900
    with hub.db.session() as session:
        assert session.get(tables.WebhookEvent, first).status == "reading"  # type: ignore[union-attr]

    def refused(self: WooCommerceConnector, external_id: str) -> Any:
        raise Rejected("woo order 500", "no such order")

    monkeypatch.setattr(WooCommerceConnector, "order", refused)
    reads.hand_over(hub, [second])  # the account's retrying job takes it: no other job
    hub.redis.zadd(ScheduledJobRegistry(queue=queue("reads", hub.redis)).key, {job_id: 0})
    requeue_due_retries(hub.redis)
    run_worker(hub.redis, burst=True)
    with hub.db.session() as session:
        event = session.get(tables.WebhookEvent, second)
        assert event is not None and event.status == "failed" and "no such order" in (event.error or "")
        assert session.get(tables.WebhookEvent, first).status == "failed"  # type: ignore[union-attr]
    assert timedelta(0) <= utcnow() - event.processed_at < timedelta(minutes=1)  # type: ignore[operator]
