"""The order reads of handed webhook events (`sync.orders.reads`, one job per account on the `reads`
queue): a burst of handed events costs one queued job; events whose order the hub read since are
settled with no call in a few statements; one channel read per order, not per event; a raising
event fails alone; a killed or lost job's events are read again; a long wait for rate points hands
the job back instead of holding the worker."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import event as sa_event
from sqlalchemy import select

import canonical
from connectors.budget import LocalBudget
from connectors.errors import Deferred, Rejected, Transient
from connectors.events import ChannelEvent, EventSubject, SubjectKind
from connectors.waits import nap, patience
from connectors.woocommerce import WooCommerceConnector
from store import tables
from store.types import utcnow
from sync.hub.accounts import add_account
from sync.hub.context import Hub
from sync.hub.queues import queue, requeue_due_retries
from sync.orders import drain, events, reads
from sync.orders.ingest import ingest_order
from sync.service.workers import run_worker
from sync.stock.change import stock_change
from tests.sync.order_world import kill_when_marked, levels, order, shop_fixture  # noqa: F401 - fixtures

TOPICS = ("order.created", "order.paid", "order.updated", "order.updated", "order.updated", "order.updated")


def store_events(hub: Hub, account_id: int, reference: str, topics: tuple[str, ...] = TOPICS, *,
                 status: str = "received") -> list[int]:
    """Events that name the order without carrying it (a marketplace's push, a pulled message)."""
    ids = []
    with hub.db.session() as session:
        account = session.get(tables.Account, account_id)
        assert account is not None
        for n, topic in enumerate(topics):
            row = events.store_event(session, account, ChannelEvent(f"push-{reference}-{topic}-{n}", topic, {}),
                                     order_reference=reference, subject=EventSubject(SubjectKind.ORDER, reference))
            assert row is not None
            ids.append(row)
        if status != "received":
            for event_id in ids:
                event = session.get(tables.WebhookEvent, event_id)
                assert event is not None
                event.status = status
    return ids


def handed(hub: Hub, account_id: int, references: list[str], topics: tuple[str, ...] = ("order.paid",)) -> list[int]:
    """Events the drain handed to the account's read job (`reading`)."""
    return [i for reference in references for i in store_events(hub, account_id, reference, topics, status="reading")]


def statuses(hub: Hub, ids: list[int]) -> list[str]:
    with hub.db.session() as session:
        return [session.get(tables.WebhookEvent, i).status for i in ids]  # type: ignore[union-attr]


def errors(hub: Hub, ids: list[int]) -> list[str | None]:
    with hub.db.session() as session:
        return [session.get(tables.WebhookEvent, i).error for i in ids]  # type: ignore[union-attr]


def channel_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The orders read from the channel, in order (the simulator's order, one line of A-1)."""
    reads_made: list[str] = []

    def read(self: WooCommerceConnector, external_id: str) -> canonical.Order:
        reads_made.append(external_id)
        return order(external_id=external_id, lines=(("1", "A-1", 1),))

    monkeypatch.setattr(WooCommerceConnector, "order", read)
    return reads_made


def read_fails(monkeypatch: pytest.MonkeyPatch, external_id: str, error: Exception) -> None:
    """Reading this one order from the channel raises `error`; the others read as before."""
    read = WooCommerceConnector.order

    def failing(self: WooCommerceConnector, wanted: str) -> canonical.Order:
        if wanted == external_id:
            raise error
        return read(self, wanted)

    monkeypatch.setattr(WooCommerceConnector, "order", failing)


def run(hub: Hub, account_id: int, holder: str = "job") -> dict[str, Any]:
    return reads.read_events(hub, reads.ReadRun(account_id, holder))


def read_jobs(hub: Hub) -> list[tuple[str | None, list[Any]]]:
    return [(job.func_name, list(job.args)) for job in queue("reads", hub.redis).jobs]


def test_three_hundred_handed_events_of_one_account_queue_one_read_job(hub: Hub, shop: dict[str, Any]) -> None:
    """The short chaos run: one `process_event` job per handed event, ~3,300 queued at the end of
    the load, most finding their order read by a poll since."""
    account_id = shop["account_id"]
    for n in range(300):
        store_events(hub, account_id, str(700 + n), ("order.paid",))
    counts = drain.drain_events(hub, account_id, "drain")  # three chunks, each asking for reads
    assert counts["handed"] == 300
    assert read_jobs(hub) == [("sync.jobs.read_events", [account_id])]


def test_events_whose_order_was_read_since_are_settled_with_no_call_in_a_few_statements(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    account_id = shop["account_id"]
    made = channel_reads(monkeypatch)
    statements: list[str] = []
    sa_event.listen(hub.db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    counted = []
    for size in (5, 50):
        references = [f"{size}-{n}" for n in range(size)]
        ids = handed(hub, account_id, references, ("order.created", "order.paid"))
        with hub.db.session() as session:  # received a minute before a poll read their orders
            session.execute(tables.WebhookEvent.__table__.update().where(tables.WebhookEvent.id.in_(ids))
                            .values(received_at=utcnow() - timedelta(minutes=1)))
        with stock_change(hub) as change:
            account = change.session.get(tables.Account, account_id)
            assert account is not None
            for reference in references:
                ingest_order(change, account, order(external_id=reference, lines=(("1", "A-1", 1),)),
                             box=hub.secret_box, source="poll", fetched_at=utcnow())
        statements.clear()
        run_ = reads.ReadRun(account_id, "job")
        with hub.db.reading() as session:
            run_.account = session.get(tables.Account, account_id)
        to_read, full = reads.settle_known(hub, run_)
        counted.append(len(statements))
        assert (to_read, full) == ({}, False) and run_.counts == {"known": 2 * size}
        assert statuses(hub, ids) == ["processed"] * len(ids)
    assert made == []
    assert counted[0] == counted[1] and counted[1] <= 7, statements  # not per event
    with hub.db.session() as session:
        row = session.scalar(select(tables.Order).where(tables.Order.external_id == "50-7"))
        assert row is not None and len(row.channel_state["webhook_events"]) == 2  # `orders show` lists them


def test_events_of_one_order_cost_one_channel_read(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    made = channel_reads(monkeypatch)
    ids = handed(hub, shop["account_id"], ["500"], TOPICS) + handed(hub, shop["account_id"], ["501"], TOPICS[:2])
    assert run(hub, shop["account_id"]) == {"read": 2, "processed": 8}
    assert made == ["500", "501"]
    assert statuses(hub, ids) == ["processed"] * 8
    assert levels(hub, shop) == (10, 2)  # each order committed once
    with hub.db.session() as session:
        row = session.scalar(select(tables.Order).where(tables.Order.external_id == "500"))
        assert row is not None and sorted(row.channel_state["webhook_events"]) == sorted(ids[:6])
    assert run(hub, shop["account_id"]) == {}  # run again: nothing left, nothing read


def test_an_event_received_after_the_read_started_is_read_again(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Settling skips only reads that cover the event: one that began before it arrived may miss it."""
    made = channel_reads(monkeypatch)
    handed(hub, shop["account_id"], ["501"], ("order.created",))
    run(hub, shop["account_id"])
    [later] = handed(hub, shop["account_id"], ["501"], ("order.cancelled",))
    with hub.db.session() as session:  # it arrived after that read began
        row = session.get(tables.WebhookEvent, later)
        assert row is not None
        row.received_at = utcnow() + timedelta(seconds=1)
    assert run(hub, shop["account_id"]) == {"read": 1, "processed": 1}
    assert made == ["501", "501"]


def test_an_event_that_raises_fails_with_its_reason_and_the_others_are_read(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    made = channel_reads(monkeypatch)
    real = reads.ingest_order

    def broken_for_601(change: Any, account: Any, data: canonical.Order, **kwargs: Any) -> Any:
        if data.external_id == "601":
            raise ValueError("line 1 has no quantity\nsecond line of detail")
        return real(change, account, data, **kwargs)

    monkeypatch.setattr(reads, "ingest_order", broken_for_601)
    first, broken, last = (handed(hub, shop["account_id"], [ref], TOPICS[:2]) for ref in ("600", "601", "602"))
    assert run(hub, shop["account_id"]) == {"read": 2, "processed": 4, "failed": 2}
    assert made == ["600", "601", "602"]
    assert statuses(hub, first + last) == ["processed"] * 4 and statuses(hub, broken) == ["failed"] * 2
    assert errors(hub, broken) == ["ValueError: line 1 has no quantity"] * 2
    assert levels(hub, shop) == (10, 2)  # 601 rolled back whole


def test_a_refused_read_fails_its_events_with_the_platforms_reason_and_the_others_go_on(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    made = channel_reads(monkeypatch)
    read_fails(monkeypatch, "602", Rejected("woo order 602", "no such order"))
    refused = handed(hub, shop["account_id"], ["602"])
    fine = handed(hub, shop["account_id"], ["603"])
    assert reads.request_reads(hub, shop["account_id"])
    run_worker(hub.redis, burst=True, queues=["reads"])
    assert statuses(hub, refused + fine) == ["failed", "processed"] and made == ["603"]
    assert "no such order" in (errors(hub, refused)[0] or "")


KILLED_MID_READ = """
import dataclasses, sys, time
from pathlib import Path
import canonical
from connectors.woocommerce import WooCommerceConnector
from sync.jobs import current_hub
from sync.orders import reads
from tests.sync.order_world import order
reads.READS = dataclasses.replace(reads.READS, lease_ms=500)  # the lease of a killed job runs out soon
calls = []
def read(self, external_id):
    calls.append(external_id)
    if len(calls) == 2:
        Path(sys.argv[2]).write_text("mid-read")
        time.sleep(120)
    return order(external_id=external_id, lines=(("1", "A-1", 1),))
WooCommerceConnector.order = read
reads.read_events(current_hub(), reads.ReadRun(int(sys.argv[1]), "doomed"))
"""


def test_a_job_killed_mid_read_loses_nothing_and_the_sweep_queues_its_account_again(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    account_id = shop["account_id"]
    ids = handed(hub, account_id, ["610", "611", "612"], TOPICS[:2])
    marker = tmp_path / "marker"
    kill_when_marked(KILLED_MID_READ, [str(account_id), str(marker)], marker, "the job never reached its second read")
    assert statuses(hub, ids) == ["processed"] * 2 + ["reading"] * 4  # the first order committed, whole
    time.sleep(0.6)  # its lease runs out
    assert reads.requeue_reads(hub, older_than=timedelta(minutes=1)) == 0  # not old enough yet
    assert reads.requeue_reads(hub) == 1
    assert reads.requeue_reads(hub) == 0  # queued: not twice
    made = channel_reads(monkeypatch)
    run_worker(hub.redis, burst=True, queues=["reads"])
    assert made == ["611", "612"] and statuses(hub, ids) == ["processed"] * 6
    assert levels(hub, shop) == (10, 3)  # counted once each


def test_the_sweep_queues_the_read_job_again_when_redis_lost_it_or_it_ended(hub: Hub, shop: dict[str, Any]) -> None:
    account_id = shop["account_id"]
    store_events(hub, account_id, "620", ("order.paid",))
    drain.drain_events(hub, account_id, "drain")
    reads_queue = queue("reads", hub.redis)
    [job] = reads_queue.jobs
    reads_queue.remove(job)
    job.set_status(JobStatus.FAILED)  # its worker was killed: RQ's clean-up failed it and keeps it
    assert Job.exists(job.id, connection=hub.redis)
    assert drain.sweep(hub)["reads"] == 0  # not old enough yet
    with hub.db.session() as session:
        session.execute(tables.WebhookEvent.__table__.update().values(received_at=utcnow() - drain.EVENT_GRACE * 2))
    assert drain.sweep(hub)["reads"] == 1
    assert drain.sweep(hub)["reads"] == 0  # queued now: not twice
    reads_queue.empty()  # lost with Redis (its "queued" key too, below)
    hub.redis.delete(reads.READS.key("queued", account_id))
    assert reads.requeue_reads(hub) == 1
    assert read_jobs(hub) == [("sync.jobs.read_events", [account_id])]


def test_a_job_out_of_time_hands_the_account_to_a_fresh_job_behind_the_others(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Fairness: an account with many orders to read does not hold the queue from another one's."""
    monkeypatch.setattr(reads, "RUN_S", 0.0)  # one read per job
    made = channel_reads(monkeypatch)
    other = add_account(hub, "woocommerce", "woo-2", {"url": "http://127.0.0.1:9"},
                        {"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "whsec"}, actor="test")
    ids = handed(hub, shop["account_id"], ["630", "631", "632"]) + handed(hub, other.id, ["640"])
    assert reads.request_reads(hub, shop["account_id"]) and reads.request_reads(hub, other.id)
    run_worker(hub.redis, burst=True, queues=["reads"])
    assert made == ["630", "640", "631", "632"]
    assert statuses(hub, ids) == ["processed"] * 4


def test_a_job_queued_per_event_before_the_upgrade_asks_for_its_accounts_read_job(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    made = channel_reads(monkeypatch)
    ids = handed(hub, shop["account_id"], ["650", "651"])
    for event_id in ids:  # as a user's Redis holds them at deploy
        queue("reads", hub.redis).enqueue("sync.jobs.process_event", event_id, job_id=f"process-event-{event_id}")
    run_worker(hub.redis, burst=True, queues=["reads"])
    assert made == ["650", "651"] and statuses(hub, ids) == ["processed"] * 2


def test_a_disabled_accounts_reads_wait_and_are_queued_again_once_it_works(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    made = channel_reads(monkeypatch)
    ids = handed(hub, shop["account_id"], ["660"])
    with hub.db.session() as session:
        account = session.get(tables.Account, shop["account_id"])
        assert account is not None
        account.enabled = False
    assert run(hub, shop["account_id"]) == {"skipped": "account missing or disabled"}
    assert reads.requeue_reads(hub) == 0
    with hub.db.session() as session:
        account = session.get(tables.Account, shop["account_id"])
        assert account is not None
        account.enabled = True
    drain.resume_account(hub, shop["account_id"])
    run_worker(hub.redis, burst=True, queues=["reads"])
    assert made == ["660"] and statuses(hub, ids) == ["processed"]


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


def test_a_read_waiting_out_a_pause_hands_its_job_back_and_keeps_its_retries(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    hub.settings.workers.retry_intervals_s = [900]

    def paused(self: WooCommerceConnector, external_id: str) -> canonical.Order:
        nap(40, where="a wait for rate points", rate_wait=True)  # the account's budget is paused for 40 s
        raise AssertionError("slept through the pause")

    monkeypatch.setattr(WooCommerceConnector, "order", paused)
    [event_id] = handed(hub, shop["account_id"], ["503"])
    assert reads.request_reads(hub, shop["account_id"])
    [job_id] = queue("reads", hub.redis).job_ids
    started = time.monotonic()
    run_worker(hub.redis, burst=True, queues=["reads"])
    assert time.monotonic() - started < 10  # the worker was not held for the pause
    wait = scheduled(hub, job_id)
    assert wait is not None and 35 < wait <= 41
    assert statuses(hub, [event_id]) == ["reading"]
    handed(hub, shop["account_id"], ["504"])
    assert not reads.request_reads(hub, shop["account_id"])  # the handed-back job is the account's queued one
    assert queue("reads", hub.redis).count == 0

    def unavailable(self: WooCommerceConnector, external_id: str) -> canonical.Order:
        raise Transient(f"woo order {external_id}", "503")

    monkeypatch.setattr(WooCommerceConnector, "order", unavailable)
    hub.redis.zadd(ScheduledJobRegistry(queue=queue("reads", hub.redis)).key, {job_id: 0})  # the pause is over
    assert requeue_due_retries(hub.redis) == 1
    run_worker(hub.redis, burst=True, queues=["reads"])
    wait = scheduled(hub, job_id)  # the failure still gets its retry: the hand-back was not one
    assert wait is not None and 890 < wait <= 900
    job = Job.fetch(job_id, connection=hub.redis, serializer=JSONSerializer)
    assert job.number_of_retries == 2 and job.meta.get("put_back") == 1
    assert job.meta.get(reads.READ_LAST) == "503"  # read after 504 next time
    assert not reads.request_reads(hub, shop["account_id"])  # the retry is the account's queued job


def test_a_read_failing_for_good_fails_its_events_and_a_fresh_job_reads_the_rest(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    hub.settings.workers.retry_intervals_s = [0]
    made = channel_reads(monkeypatch)
    read_fails(monkeypatch, "670", Transient("woo order 670", "503"))
    failing = handed(hub, shop["account_id"], ["670"], TOPICS[:2])
    fine = handed(hub, shop["account_id"], ["671"])
    assert reads.request_reads(hub, shop["account_id"])
    run_worker(hub.redis, burst=True, queues=["reads"])  # the first run and its retry, at once
    assert made == ["671"]  # read before the failing one on its retry
    assert statuses(hub, failing + fine) == ["failed", "failed", "processed"]
    assert all("503" in (error or "") for error in errors(hub, failing))
    assert reads.request_reads(hub, shop["account_id"])  # the failed job no longer stands for a queued one


def test_replay_hands_stored_events_to_their_read_jobs(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    made = channel_reads(monkeypatch)
    ids = store_events(hub, shop["account_id"], "680", TOPICS[:3], status="processed")
    assert reads.hand_over(hub, ids) == 3
    run_worker(hub.redis, burst=True, queues=["reads"])
    assert made == ["680"] and statuses(hub, ids) == ["processed"] * 3

