"""Stored webhook events, drained per account in chunks: one job, one transaction per chunk.

A delivery is stored first (`sync.orders.events.store_event`, unique per account and event id);
then `wake` makes sure a drain of its account will see it. The drain job (`sync.jobs.drain_events`,
on the `events` queue) takes the account's received events in id order, `CHUNK` at a time, and
ingests the orders they carry in one transaction per chunk (`stock_change`: one settle and one
push request per chunk, not per event). An event is marked processed in the transaction that
applied it, so a worker killed mid-chunk rolls the whole chunk back: nothing is half done, and
the next drain takes the same events again (ingest is idempotent besides). One event that
raises is isolated in its own savepoint and marked failed; the others of the chunk commit.

An event that needs the channel (its body is not the whole order, or the hub holds a state with
the same time but other content) is handed to its account's read job (`sync.orders.reads`, on the
`reads` queue: one job per account, asked for once per chunk), which reads the order with the job
error policy (retries, refusals); the drain goes on with the next events. A handed event is
`reading` from then on, and no drain takes it again: kept `received`, every round of the account's
drain took all of them again and re-queued each read (the short chaos run: ~300 waiting reads per
pushing marketplace, re-handed every round, so three drains held the workers the reads waited for).
The sweep queues again a read job Redis lost (`reads.requeue_reads`).

Who drains is decided in Redis (`sync.hub.account_jobs`, transport only: losing it loses no work,
the sweep wakes every account with events older than `EVENT_GRACE`): `wake` sets the account's wake
flag and queues a drain unless one holds the account or is queued. The job takes the holder lease
(renewed per chunk; its own job id, so a re-run of the same job after its worker died takes it
back) and clears the flag in one script (`AccountJobs.start`), drains until a chunk comes back short
of `CHUNK` (all there was), then keeps the account and drains again when the flag was set meanwhile,
or lets go, in one atomic script (`AccountJobs.again`), so an event stored and flagged at any moment
is seen by some drain: its wake came before that step (this holder drains it) or after (no holder:
the wake queues a job).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from canonical.errors import one_line
from connectors.waits import nap
from store import tables
from store.db import transaction_conflict
from store.memo import forget
from store.types import utcnow
from sync.hub.account_jobs import AccountJobs
from sync.hub.context import Hub
from sync.hub.queues import others_waiting, yield_turn
from sync.orders.events import (
    CARRIED,
    apply_carried,
    mark_event,
    mark_reading,
    stored_payload,
    stored_subject,
    unseal_order,
)
from sync.orders.ingest import fetched_since, note_known_event
from sync.orders.reads import request_reads, requeue_reads
from sync.stock.change import StockChange, stock_change

log = logging.getLogger(__name__)

JOB_FUNCTION = "sync.jobs.drain_events"
CHUNK = 100  # events per transaction
CONFLICT_RETRIES = 5  # deadlocks a drain round takes (in smaller chunks each time) before its job's policy decides
RUN_S = 2.0  # a job drains this long at most, then hands the account to a fresh job at the back of the queue
LEASE_MS = 15_000  # a holder silent this long (renewed per chunk) is taken as dead
QUEUED_S = 120  # "a drain job is queued" lasts this long at most (a job lost before it started)
EVENT_GRACE = timedelta(seconds=60)

DRAINS = AccountJobs("events", "events", JOB_FUNCTION, "drain-events", "drain webhook events of account {account_id}",
                     lease_ms=LEASE_MS, queued_s=QUEUED_S)


def wake(hub: Hub, account_id: int, *, check_queued: bool = False) -> bool:
    """After the commit that stored the account's events: make sure a drain sees them; True when a
    job was queued. `check_queued` (the sweep) also queues one when the job said to be queued is
    gone from Redis."""
    return DRAINS.wake(hub.redis, account_id, check_queued=check_queued)


class _Disabled(Exception):
    """The account is missing, disabled or failing: its events stay received until it works again."""


def drain_events(hub: Hub, account_id: int, holder: str) -> dict[str, Any]:
    """The drain job: ingest the account's received events until none is left (or `RUN_S` is up:
    then a fresh job takes over at the back of the queue).

    While events keep coming, its rounds start at least `sync.events_coalesce_s` apart and it holds
    the account in between, so what arrives meanwhile is one chunk, not a transaction each (a
    chunk's settle and push request cost about as much as ingesting its events). When jobs of
    another realtime queue wait, it does not sit out that window: it hands the account to a fresh
    job at the back of the queue and its worker takes the others' turn (`queues.yield_turn`).

    Redis: one script to start (`AccountJobs.start`), one to end each round (`AccountJobs.again`: the
    look at the flag and the letting go in one atomic step); the account is read in the chunk's own
    transaction (issue 16: a drain of one event made seven round trips of its own and a transaction
    to read the account first)."""
    r = hub.redis
    if not DRAINS.start(r, account_id, holder):
        return {}  # another drain holds the account: it looks at the flag as it lets go
    counts: Counter[str] = Counter()
    window, deadline = hub.settings.sync.events_coalesce_s, time.monotonic() + RUN_S
    try:
        while True:
            round_started = time.monotonic()
            if not _drain_round(hub, account_id, holder, counts):
                return dict(counts)  # the lease ran out and another drain took over: it goes on
            if time.monotonic() > deadline:
                break
            if not _again(r, account_id, holder):
                return dict(counts)  # let go: nothing came meanwhile (a later wake queues a job)
            if (rest := window - (time.monotonic() - round_started)) > 0:
                if others_waiting(r, "events"):
                    # jobs of other queues wait: the worker takes them rather than sit out the
                    # window; a fresh drain behind them finds what came meanwhile in one chunk
                    break
                nap(rest, where="a webhook drain's coalescing window")  # wakes meanwhile find it held
            DRAINS.clear_flag(r, account_id)  # every clear of the flag comes before the holder reads the table
    except _Disabled:
        _let_go(r, account_id, holder)
        return {"skipped": "account missing, disabled or failing"}  # kept as received until it works
    except BaseException:
        _let_go(r, account_id, holder)
        raise
    _let_go(r, account_id, holder)
    wake(hub, account_id)  # more is waiting: a fresh job, so the worker takes other work between
    yield_turn()
    counts["handed_over"] += 1
    return dict(counts)


def _again(r: redis.Redis, account_id: int, holder: str) -> bool:
    """After a round: True (holding the account) when a wake came meanwhile; else it lets go."""
    return DRAINS.again(r, account_id, holder)


def _drain_round(hub: Hub, account_id: int, holder: str, counts: Counter[str]) -> bool:
    """Every received event of the account, a chunk per transaction; False when the lease was lost
    to another drain."""
    r, after, size, conflicts = hub.redis, 0, CHUNK, 0
    while True:
        try:
            last = _drain_chunk(hub, account_id, after, counts, size)
        except DBAPIError as exc:
            # Drains of other accounts move the same stock levels in another order: a chunk lost a
            # deadlock and was rolled back whole. It goes again in smaller chunks (one event at
            # last, as an order job's own transaction), so two drains stop locking many rows each.
            if not transaction_conflict(exc) or conflicts >= CONFLICT_RETRIES:
                raise
            conflicts += 1
            size = max(1, size // 10)
            counts["deadlocks_retried"] += 1
            continue
        if last is None:
            return True
        after, taken = last
        if taken < size:  # all there was: one stored since set the wake flag, the caller looks there
            return True
        if not DRAINS.hold(r, account_id, holder):
            return False


def _take(r: redis.Redis, account_id: int, holder: str) -> bool:
    return DRAINS.take(r, account_id, holder)


def _let_go(r: redis.Redis, account_id: int, holder: str) -> None:
    DRAINS.let_go(r, account_id, holder)


def _drain_chunk(hub: Hub, account_id: int, after: int, counts: Counter[str],
                 size: int = CHUNK) -> tuple[int, int] | None:
    """Apply up to `size` received events with ids above `after` in one transaction; the last id
    looked at and how many there were, None when there was none."""
    outcomes: Counter[str] = Counter()  # counted once the chunk commits (a deadlock rolls it back whole)
    with stock_change(hub, remember=True) as change:  # ingesting orders changes no reference rows
        session = change.session
        stmt = (select(tables.WebhookEvent).where(tables.WebhookEvent.account_id == account_id,
                                                  tables.WebhookEvent.status == "received",
                                                  tables.WebhookEvent.id > after)
                .order_by(tables.WebhookEvent.id).limit(size))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)  # a drain whose lease ran out may still run
        account = session.get(tables.Account, account_id)
        if account is None or not account.enabled or account.failing_since is not None:
            raise _Disabled  # its events wait, received, until it is enabled or works again
        chunk = list(session.scalars(stmt))
        if not chunk:
            return None
        for event in chunk:
            outcomes[_apply(hub, change, account, event)] += 1
        last = chunk[-1].id
    counts.update(outcomes)
    if outcomes["handed"]:  # after the commit: the account's read job reads the events as stored
        request_reads(hub, account_id)
    return last, len(chunk)


def _apply(hub: Hub, change: StockChange, account: tables.Account, event: tables.WebhookEvent) -> str:
    """One event of a chunk, in its own savepoint: "processed", "handed" (the account's read job reads
    the order from the channel) or "failed" (it raised; the reason is kept on the event)."""
    session = change.session
    try:
        with session.begin_nested():
            outcome = _settle_event(hub, change, account, event)
    except DBAPIError:
        raise  # the database itself: the whole chunk goes back, the job's policy decides
    except Exception as exc:
        forget(session)  # what the rolled-back savepoint read or created may be gone
        reason = one_line(exc)
        log.warning("webhook event %s failed: %s", event.id, reason)  # one line, not a list's repr
        mark_event(event, "failed", reason)
        return "failed"
    if outcome == "processed":
        mark_event(event, "processed", None)
    elif outcome == "handed":
        mark_reading(event)  # the read job takes it (asked for after the commit); no round takes it again
    return outcome


def _settle_event(hub: Hub, change: StockChange, account: tables.Account, event: tables.WebhookEvent) -> str:
    session = change.session
    payload = stored_payload(event)
    order = unseal_order(hub.secret_box, payload.get(CARRIED))
    if order is not None:
        return "processed" if apply_carried(change, account, event.id, order, hub.secret_box) else "handed"
    reference = event.order_reference
    if reference is None:
        subject = stored_subject(payload)
        reference = subject.order if subject is not None else None
    if reference is not None and fetched_since(session, account.id, reference, event.received_at):
        note_known_event(session, account.id, reference, event.id)
        return "processed"
    return "handed"  # the order is read from the channel by the account's read job


# ---- waking what waits ---------------------------------------------------------------------------
def resume_account(hub: Hub, account_id: int) -> bool:
    """The account works again: drain every event that waited for it, and read those handed to reads."""
    requeue_reads(hub, [account_id])
    return wake(hub, account_id, check_queued=True)


def sweep(hub: Hub) -> dict[str, int]:
    """Wake the drain of every working account with events received over `EVENT_GRACE` ago and
    still unprocessed (a wake lost with Redis, a drain killed with its worker), and queue again the
    read jobs of accounts with events handed to one that long ago (`reads.requeue_reads`)."""
    with hub.db.session() as session:
        accounts = _waiting_accounts(session)
    return {"events": sum(1 for account_id in accounts if wake(hub, account_id, check_queued=True)),
            "accounts": len(accounts), "reads": requeue_reads(hub, older_than=EVENT_GRACE)}


def _waiting_accounts(session: Session) -> list[int]:
    rows = session.scalars(select(tables.WebhookEvent.account_id).join(
        tables.Account, tables.Account.id == tables.WebhookEvent.account_id).where(
        tables.WebhookEvent.status == "received", tables.Account.failing_since.is_(None),
        tables.Account.enabled.is_(True), tables.WebhookEvent.received_at <= utcnow() - EVENT_GRACE).distinct())
    return sorted(int(account_id) for account_id in rows)
