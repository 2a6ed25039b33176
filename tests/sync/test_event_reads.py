"""The order reads of webhook events (`sync.orders.events.process_event`, on the `reads` queue): a
burst of events about one order costs one channel read, whatever runs them at once; a read that
would sleep long in a rate budget hands its job back instead of holding the worker."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

import canonical
from connectors.budget import LocalBudget
from connectors.errors import Deferred, Transient
from connectors.events import ChannelEvent, EventSubject, SubjectKind
from connectors.waits import nap, patience
from connectors.woocommerce import WooCommerceConnector
from store import tables
from store.types import utcnow
from sync.hub.context import Hub
from sync.hub.queues import queue, requeue_due_retries
from sync.orders import events
from sync.service.workers import run_worker
from tests.sync.order_world import levels, order, shop_fixture  # noqa: F401 - fixtures

TOPICS = ("order.created", "order.paid", "order.updated", "order.updated", "order.updated", "order.updated")


def store_events(hub: Hub, shop: dict[str, Any], reference: str, topics: tuple[str, ...] = TOPICS) -> list[int]:
    """Events that name the order without carrying it (a marketplace's push, a pulled message)."""
    ids = []
    with hub.db.session() as session:
        account = session.get(tables.Account, shop["account_id"])
        assert account is not None
        for n, topic in enumerate(topics):
            row = events.store_event(session, account, ChannelEvent(f"push-{reference}-{topic}-{n}", topic, {}),
                                     order_reference=reference,
                                     subject=EventSubject(SubjectKind.ORDER, reference))
            assert row is not None
            ids.append(row)
    return ids


def statuses(hub: Hub, ids: list[int]) -> list[str]:
    with hub.db.session() as session:
        return [session.get(tables.WebhookEvent, i).status for i in ids]  # type: ignore[union-attr]


def slow_reads(monkeypatch: pytest.MonkeyPatch, seconds: float = 0.3) -> list[str]:
    reads: list[str] = []
    lock = threading.Lock()

    def read(self: WooCommerceConnector, external_id: str) -> canonical.Order:
        with lock:
            reads.append(external_id)
        time.sleep(seconds)  # the channel's answer takes a moment: the other jobs start meanwhile
        return order(external_id=external_id, lines=(("1", "A-1", 1),))

    monkeypatch.setattr(WooCommerceConnector, "order", read)
    return reads


def test_a_burst_of_events_about_one_order_run_at_once_costs_one_read(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The nine-channel chaos run: a pushing marketplace sends created and paid together; the two
    jobs ran on two workers at once and both read the order (`fetched_since` saw no read yet)."""
    reads = slow_reads(monkeypatch)
    ids = store_events(hub, shop, "500")
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run(event_id: int) -> None:
        try:
            outcomes.append(events.process_event(hub, event_id))
        except BaseException as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(event_id,)) for event_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert reads == ["500"]
    assert outcomes == ["processed"] * len(ids) and statuses(hub, ids) == ["processed"] * len(ids)
    assert levels(hub, shop) == (10, 1)  # ingested once


def test_an_event_received_after_the_read_started_is_read_again(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The lease only saves reads that cover the event: one that began before it arrived may miss it."""
    reads = slow_reads(monkeypatch, 0.0)
    [first] = store_events(hub, shop, "501", ("order.created",))
    assert events.process_event(hub, first) == "processed"
    [later] = store_events(hub, shop, "501", ("order.cancelled",))
    with hub.db.session() as session:  # it arrived after that read began
        row = session.get(tables.WebhookEvent, later)
        assert row is not None
        row.received_at = utcnow()
    assert events.process_event(hub, later) == "processed"
    assert reads == ["501", "501"]


def test_a_lease_left_by_a_dead_reader_delays_the_next_read_a_moment_only(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    reads = slow_reads(monkeypatch, 0.0)
    monkeypatch.setattr(events, "READ_WAIT_S", 0.3)
    [event_id] = store_events(hub, shop, "502", ("order.created",))
    hub.redis.set(events._read_key(shop["account_id"], "502"), "killed-worker", px=events.READ_LEASE_MS)
    started = time.monotonic()
    assert events.process_event(hub, event_id) == "processed"
    assert reads == ["502"] and time.monotonic() - started < 2


def test_a_wait_past_the_patience_raises_deferred_without_sleeping() -> None:
    budget = LocalBudget(maximum=10, restore_rate=1)
    budget.pause(20)  # a marketplace's "retry next minute"
    started = time.monotonic()
    with patience(3.0), pytest.raises(Deferred) as caught:
        budget.reserve(1)
    assert caught.value.retry_after > 19 and time.monotonic() - started < 1
    nap(0.01)  # outside the block a wait is slept as before


def test_a_retry_backoff_past_the_patience_is_slept_not_handed_back() -> None:
    """Only a wait for rate points defers: a retry's backoff (tenacity naps through `nap`) is the
    failure policy's, so a shop failing for good still uses up its retries."""
    with patience(0.01):
        nap(0.05, where="a retry's backoff")
        with pytest.raises(Deferred):
            nap(0.05, where="a wait for rate points", rate_wait=True)


def scheduled(hub: Hub, job_id: str) -> float | None:
    registry = ScheduledJobRegistry(queue=queue("reads", hub.redis))
    if job_id not in registry.get_job_ids():
        return None
    return (registry.get_scheduled_time(job_id) - utcnow()).total_seconds()


def test_an_event_read_waiting_out_a_pause_hands_its_job_back_and_keeps_its_retries(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    hub.settings.workers.retry_intervals_s = [900]

    def paused(self: WooCommerceConnector, external_id: str) -> canonical.Order:
        nap(40, where="a wait for rate points", rate_wait=True)  # the account's budget is paused for 40 s
        raise AssertionError("slept through the pause")

    monkeypatch.setattr(WooCommerceConnector, "order", paused)
    [event_id] = store_events(hub, shop, "503", ("order.created",))
    job_id = f"process-event-{event_id}"
    assert events.enqueue_event(hub, event_id)
    started = time.monotonic()
    run_worker(hub.redis, burst=True, queues=["reads"])
    assert time.monotonic() - started < 10  # the worker was not held for the pause
    wait = scheduled(hub, job_id)
    assert wait is not None and 35 < wait <= 41
    assert statuses(hub, [event_id]) == ["received"]

    def unavailable(self: WooCommerceConnector, external_id: str) -> canonical.Order:
        raise Transient("woo order 503", "503")

    monkeypatch.setattr(WooCommerceConnector, "order", unavailable)
    hub.redis.zadd(ScheduledJobRegistry(queue=queue("reads", hub.redis)).key, {job_id: 0})  # the pause is over
    assert requeue_due_retries(hub.redis) == 1
    run_worker(hub.redis, burst=True, queues=["reads"])
    wait = scheduled(hub, job_id)  # the failure still gets its retry: the hand-back was not one
    assert wait is not None and 890 < wait <= 900
    job = Job.fetch(job_id, connection=hub.redis, serializer=JSONSerializer)
    assert job.number_of_retries == 2 and job.meta.get("put_back") == 1
