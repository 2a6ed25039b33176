"""The order reads of handed webhook events: one job per account, on the `reads` queue.

An event the drain cannot apply from its body (a marketplace push that names an order without
carrying it, a pulled message; `sync.orders.drain`) is `reading` from then on, and the drain asks
for its account's read job (`request_reads`): a burst of handed events costs one queued job, not
one each (the short chaos run had ~3,300 per-event jobs queued at the end of its load, most of
them finding the order already read by a poll). The job (`sync.jobs.read_events`) takes the
account's `reading` events in id order, `CHUNK` at a time:

- every event whose order the hub has read since the event was received (`ingest.read_after`: a
  poll, another event's read) is settled with the others in one query and one transaction, no call;
- then each remaining distinct order is read once from the channel and ingested, every event about
  it marked in the ingest's transaction. An event that raises fails with the reason, alone (its
  order's events only); a refusal likewise; an auth failure, a transient failure after the client's
  retries and a wait for rate points past the patience go to the job's error policy (`sync.jobs`);
  the order that failed transiently is read last when the job runs again.

After `RUN_S` the job hands the account to a fresh job at the back of the queue and yields its
queue's turn, like the drain. Who reads an account is decided in Redis (`sync.hub.account_jobs`:
a wake flag, a holder lease, one queued job); Redis is only transport: the sweep
(`requeue_reads`) queues the job again for accounts whose `reading` events wait too long with no
live holder and no live queued job (Redis flushed, a worker killed mid-job). A worker killed
mid-read loses nothing: an event is marked only in the transaction that applied it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from canonical.errors import one_line
from connectors.base import Connector
from connectors.errors import AuthFailed, Interrupted, Transient
from connectors.events import ChannelEvent
from store import tables
from store.db import transaction_conflict
from store.types import utcnow
from sync.hub.account_jobs import AccountJobs
from sync.hub.context import Hub
from sync.hub.queues import yield_turn
from sync.orders.events import READING, READS_QUEUE, mark_event, stored_payload, stored_subject
from sync.orders.ingest import find_orders, ingest_order, note_event, read_after
from sync.stock.change import stock_change

log = logging.getLogger(__name__)

READS = AccountJobs("reads", READS_QUEUE, "sync.jobs.read_events", "read-events",
                    "read the orders of account {account_id}'s handed webhook events")
CHUNK = 200  # events looked at per round (settled in one transaction)
RUN_S = 2.0  # a job reads this long at most, then hands the account to a fresh job at the back of the queue
READ_LAST = "read_last"  # job.meta: the order whose read failed transiently, read after the others next time


def request_reads(hub: Hub, account_id: int) -> bool:
    """After the commit that made events `reading`: make sure the account's read job sees them."""
    return READS.wake(hub.redis, account_id)


def hand_over(hub: Hub, event_ids: Iterable[int]) -> int:
    """Hand stored events to their accounts' read jobs (`webhooks replay --enqueue`); how many."""
    ids = list(event_ids)
    with hub.db.session() as session:
        rows = list(session.scalars(select(tables.WebhookEvent).where(tables.WebhookEvent.id.in_(ids))))
        for row in rows:
            row.status = READING
        accounts = sorted({row.account_id for row in rows})
    for account_id in accounts:
        request_reads(hub, account_id)
    return len(rows)


def requeue_reads(hub: Hub, account_ids: Iterable[int] | None = None, *, older_than: timedelta | None = None) -> int:
    """Queue again the read job of every working account (all, or `account_ids`) with `reading`
    events (with `older_than`, received that long ago) that no live job holds or waits to read
    (lost with Redis, ended with a killed worker); how many were queued."""
    with hub.db.session() as session:
        stmt = (select(tables.WebhookEvent.account_id).join(tables.Account)
                .where(tables.WebhookEvent.status == READING, tables.Account.enabled.is_(True),
                       tables.Account.failing_since.is_(None)).distinct())
        if account_ids is not None:
            stmt = stmt.where(tables.WebhookEvent.account_id.in_(list(account_ids)))
        if older_than is not None:
            stmt = stmt.where(tables.WebhookEvent.received_at <= utcnow() - older_than)
        accounts = sorted(int(account_id) for account_id in session.scalars(stmt))
    return sum(1 for account_id in accounts if READS.wake(hub.redis, account_id, check_queued=True))


@dataclass
class ReadRun:
    """One run of an account's read job: what the error policy's callbacks need to know."""

    account_id: int
    holder: str  # the job's id: a re-run of the same job takes its lease back
    last: str | None = None  # read after the others (`READ_LAST`)
    reference: str | None = None  # the order being read
    reading: list[int] = field(default_factory=list)  # its events
    counts: Counter[str] = field(default_factory=Counter)
    account: tables.Account | None = None
    connector: Connector | None = None

    def channel(self, hub: Hub) -> Connector:
        if self.connector is None:
            assert self.account is not None
            self.connector = hub.connector(self.account)
        return self.connector


def read_events(hub: Hub, run: ReadRun) -> dict[str, Any]:
    """The read job: settle or read the account's `reading` events until none is left (or `RUN_S`
    is up: a fresh job takes over at the back of the queue). Safe to run again (replay)."""
    r = hub.redis
    READS.started(r, run.account_id)
    with hub.db.reading() as session:
        run.account = session.get(tables.Account, run.account_id)
        if run.account is None or not run.account.enabled:
            return {"skipped": "account missing or disabled"}  # kept reading until it is enabled
    deadline = time.monotonic() + RUN_S
    try:
        while READS.take(r, run.account_id, run.holder):
            try:
                outcome = _read_rounds(hub, run, deadline)
            except Interrupted as exc:  # back to the queue (after a wait for rate points): still its job
                READS.stay_queued(r, run.account_id, run.holder, getattr(exc, "retry_after", 0.0))
                raise
            finally:
                READS.let_go(r, run.account_id, run.holder)
            if outcome == "out_of_time":
                READS.wake(r, run.account_id)  # a fresh job, so the worker takes other work between
                yield_turn()
                run.counts["handed_over"] += 1
            if outcome != "done" or not READS.flagged(r, run.account_id):
                break
    finally:
        if run.connector is not None:
            run.connector.close()
    return dict(run.counts)


def _read_rounds(hub: Hub, run: ReadRun, deadline: float) -> str:
    """Rounds until none is left ("done"), the time is up ("out_of_time") or another job holds the
    account ("lost")."""
    r = hub.redis
    while True:
        READS.clear_flag(r, run.account_id)  # before the look at the table (`sync.hub.account_jobs`)
        to_read, full = settle_known(hub, run)
        for reference, ids in _last_at_the_end(to_read, run.last):
            if time.monotonic() > deadline and run.counts:  # each job gets something done
                return "out_of_time"
            if not READS.hold(r, run.account_id, run.holder):
                return "lost"
            read_order(hub, run, reference, ids)
        if not full:
            return "done"
        if time.monotonic() > deadline:
            return "out_of_time"


def _last_at_the_end(to_read: dict[str, list[int]], last: str | None) -> list[tuple[str, list[int]]]:
    return sorted(to_read.items(), key=lambda item: item[0] == last)  # stable: id order otherwise


def settle_known(hub: Hub, run: ReadRun) -> tuple[dict[str, list[int]], bool]:
    """Settle, in one transaction, up to `CHUNK` of the account's reading events whose order the hub
    has read since they were received (and those about no order); the others' events by order
    reference in id order, and whether the chunk was full."""
    with hub.db.session() as session:
        chunk = list(session.scalars(select(tables.WebhookEvent).where(
            tables.WebhookEvent.account_id == run.account_id, tables.WebhookEvent.status == READING)
            .order_by(tables.WebhookEvent.id).limit(CHUNK)))
        about = {event.id: _reference(hub, run, event) for event in chunk}
        stored = find_orders(session, run.account_id, {ref for ref in about.values() if ref is not None})
        to_read: dict[str, list[int]] = {}
        for event in chunk:
            reference = about[event.id]
            if event.status != READING:
                continue  # its body could not be read as an event: failed above
            row = stored.get(reference) if reference is not None else None
            if reference is None:
                mark_event(event, "ignored", None)
                run.counts["ignored"] += 1
            elif row is not None and read_after(row, event.received_at):
                note_event(row, f"webhook:{event.id}")
                mark_event(event, "processed", None)
                run.counts["known"] += 1
            else:
                to_read.setdefault(reference, []).append(event.id)
    return to_read, len(chunk) == CHUNK


def _reference(hub: Hub, run: ReadRun, event: tables.WebhookEvent) -> str | None:
    """The order the event is about: as stored, else as the connector reads the stored body (an
    event it cannot read fails with the reason)."""
    if event.order_reference is not None:
        return event.order_reference
    payload = stored_payload(event)
    try:
        subject = stored_subject(payload) or run.channel(hub).event_subject(
            ChannelEvent(event.event_id, event.topic, payload))
    except (AuthFailed, Transient):
        raise
    except Exception as exc:
        mark_event(event, "failed", one_line(exc))
        run.counts["failed"] += 1
        return None
    return subject.order if subject is not None else None


def read_order(hub: Hub, run: ReadRun, reference: str, ids: list[int]) -> None:
    """Read one order from the channel and ingest it, its events marked in the same transaction; an
    error other than the job's (auth, transient, the database) fails these events only."""
    run.reference, run.reading = reference, ids
    try:
        fetched_at = utcnow()
        order = run.channel(hub).order(reference)
        with stock_change(hub) as change:
            account = change.session.get(tables.Account, run.account_id)
            assert account is not None
            result = ingest_order(change, account, order, box=hub.secret_box, source=f"webhook:{ids[0]}",
                                  fetched_at=fetched_at)
            _mark_read(change.session, result.order_id, ids)
        run.counts["read"] += 1
        run.counts["processed"] += len(ids)
    except (AuthFailed, Transient, DBAPIError):
        raise  # the job's error policy decides (`sync.jobs`)
    except Exception as exc:  # a refusal of this order, or a bug: these events only, the rest go on
        fail_events(hub, ids, one_line(exc))
        run.counts["failed"] += len(ids)
    run.reference, run.reading = None, []


def _mark_read(session: Session, order_id: int, ids: list[int]) -> None:
    row = session.get(tables.Order, order_id)
    for event in session.scalars(select(tables.WebhookEvent).where(tables.WebhookEvent.id.in_(ids))):
        if row is not None:
            note_event(row, f"webhook:{event.id}")
        mark_event(event, "processed", None)


def fail_events(hub: Hub, ids: list[int], error: str) -> None:
    """These events will not be processed: kept with the reason (`webhooks replay` or the order
    poll catch up)."""
    with hub.db.session() as session:
        for event in session.scalars(select(tables.WebhookEvent).where(tables.WebhookEvent.id.in_(ids))):
            mark_event(event, "failed", error)
    log.warning("webhook event(s) %s failed: %s", ", ".join(map(str, ids)), error)


def give_up(hub: Hub, run: ReadRun, error: Exception) -> None:
    """The job failed for good (retries used up, a refusal, an error outside the tree): the events of
    the order it was reading fail with the reason, and a fresh job reads the rest. A deadlock victim
    fails nothing: its worker runs the job again (`sync.service.workers`)."""
    if not run.reading or transaction_conflict(error):
        return  # nothing was being read: the job's own failure, the sweep tries again later
    fail_events(hub, run.reading, one_line(error))
    READS.started(hub.redis, run.account_id)  # this job no longer stands for the queued one
    request_reads(hub, run.account_id)
