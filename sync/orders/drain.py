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
the same time but other content) is handed to its own `process_event` job, which reads the order
with the job error policy (retries, refusals); the drain goes on with the next events. A handed event
is `reading` from then on, and no drain takes it again: kept `received`, every round of the account's
drain took all of them again and re-queued each read (the short chaos run: ~300 waiting reads per
pushing marketplace, re-handed every round, so three drains held the workers the reads waited for).
The sweep queues again a read job Redis lost (`events.requeue_reads`).

Who drains, in Redis (transport only: losing it loses no work, the sweep wakes every account with
events older than `EVENT_GRACE`):

- `wake` sets the account's wake flag, then: a live holder exists → done (it looks at the flag
  after letting go); else, unless a drain job is queued and not started yet, it queues one.
- The job clears "queued", takes the holder key (a lease renewed per chunk; its own job id, so a
  re-run of the same job after its worker died takes it back), clears the flag, drains until a
  chunk comes back short of `CHUNK` (all there was), lets go, and drains again when the flag was
  set meanwhile. Every clear of the flag comes before a read of the table by a holder, and a
  holder looks at the flag after letting go, so an event stored and flagged at any moment is seen
  by some drain.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from connectors.waits import nap
from store import tables
from store.db import transaction_conflict
from store.memo import forget
from store.types import utcnow
from sync.hub.context import Hub
from sync.hub.queues import others_waiting, queue, yield_turn
from sync.orders.events import (
    CARRIED,
    LET_GO,
    apply_carried,
    enqueue_event,
    mark_event,
    mark_reading,
    requeue_reads,
    stored_payload,
    stored_subject,
    unseal_order,
)
from sync.orders.ingest import fetched_since, note_known_event
from sync.stock.change import StockChange, stock_change

log = logging.getLogger(__name__)

JOB_FUNCTION = "sync.jobs.drain_events"
CHUNK = 100  # events per transaction
CONFLICT_RETRIES = 5  # deadlocks a drain round takes (in smaller chunks each time) before its job's policy decides
RUN_S = 2.0  # a job drains this long at most, then hands the account to a fresh job at the back of the queue
LEASE_MS = 15_000  # a holder silent this long (renewed per chunk) is taken as dead
QUEUED_S = 120  # "a drain job is queued" lasts this long at most (a job lost before it started)
EVENT_GRACE = timedelta(seconds=60)

WAKE_KEY = "marketsync:events-wake:{account_id}"
HOLDER_KEY = "marketsync:events-holder:{account_id}"
QUEUED_KEY = "marketsync:events-queued:{account_id}"

# Compare-and-renew: only the holder that took the key renews it (it lets go with events.LET_GO).
_WAKE = ("redis.call('set', KEYS[1], '1') if redis.call('exists', KEYS[2]) == 1 then return 0 end "
         "if redis.call('set', KEYS[3], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end return 0")
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"


def _key(template: str, account_id: int) -> str:
    return template.format(account_id=account_id)


def wake(hub: Hub, account_id: int, *, check_queued: bool = False) -> bool:
    """After the commit that stored the account's events: make sure a drain sees them; True when a
    job was queued. `check_queued` (the sweep) also queues one when the job said to be queued is
    gone from Redis."""
    r = hub.redis
    jid = f"drain-events-{account_id}-{uuid.uuid4().hex[:12]}"
    queued_key = _key(QUEUED_KEY, account_id)
    # one round trip: flag, then a job unless a holder drains or a job is queued (see the module docstring)
    if not r.eval(_WAKE, 3, _key(WAKE_KEY, account_id), _key(HOLDER_KEY, account_id), queued_key, jid, QUEUED_S):
        if not check_queued or r.exists(_key(HOLDER_KEY, account_id)) or _queued_job_exists(r, queued_key):
            return False
        r.set(queued_key, jid, ex=QUEUED_S)
    queue("events", r).enqueue(JOB_FUNCTION, account_id, job_id=jid, result_ttl=0,
                               description=f"drain webhook events of account {account_id}")
    return True


def _queued_job_exists(r: redis.Redis, queued_key: str) -> bool:
    from rq.job import Job

    jid = r.get(queued_key)
    if jid is None:
        return False
    name = jid.decode() if isinstance(jid, bytes) else str(jid)
    return bool(r.exists(f"{Job.redis_job_namespace_prefix}{name}"))


def drain_events(hub: Hub, account_id: int, holder: str) -> dict[str, Any]:
    """The drain job: ingest the account's received events until none is left (or `RUN_S` is up:
    then a fresh job takes over at the back of the queue).

    While events keep coming, its rounds start at least `sync.events_coalesce_s` apart and it holds
    the account in between, so what arrives meanwhile is one chunk, not a transaction each (a
    chunk's settle and push request cost about as much as ingesting its events). When jobs of
    another realtime queue wait, it does not sit out that window: it hands the account to a fresh
    job at the back of the queue and its worker takes the others' turn (`queues.yield_turn`)."""
    r = hub.redis
    r.delete(_key(QUEUED_KEY, account_id))
    with hub.db.reading() as session:
        account = session.get(tables.Account, account_id)
        if account is None or not account.enabled:
            return {"skipped": "account missing or disabled"}  # kept as received until it is enabled
    counts: Counter[str] = Counter()
    window, deadline = hub.settings.sync.events_coalesce_s, time.monotonic() + RUN_S
    while _take(r, account_id, holder):
        out_of_time = False
        try:
            while True:
                round_started = time.monotonic()
                r.delete(_key(WAKE_KEY, account_id))
                if not _drain_round(hub, account_id, holder, counts):
                    return dict(counts)  # the lease ran out and another drain took over: it goes on
                out_of_time = time.monotonic() > deadline
                if out_of_time or not r.exists(_key(WAKE_KEY, account_id)):
                    break
                if (rest := window - (time.monotonic() - round_started)) > 0:
                    if others_waiting(r, "events"):
                        # jobs of other queues wait: the worker takes them rather than sit out the
                        # window; a fresh drain behind them finds what came meanwhile in one chunk
                        out_of_time = True
                        break
                    nap(rest, where="a webhook drain's coalescing window")  # wakes meanwhile find it held
        finally:
            _let_go(r, account_id, holder)
        if out_of_time:
            wake(hub, account_id)  # more is waiting: a fresh job, so the worker takes other work between
            yield_turn()
            counts["handed_over"] += 1
            break
        if not r.exists(_key(WAKE_KEY, account_id)):
            break
    return dict(counts)


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
        if not _renew(r, account_id, holder) and not _take(r, account_id, holder):
            return False


def _take(r: redis.Redis, account_id: int, holder: str) -> bool:
    key = _key(HOLDER_KEY, account_id)
    if r.set(key, holder, nx=True, px=LEASE_MS):
        return True
    current = r.get(key)
    return (current.decode() if isinstance(current, bytes) else current) == holder  # this job, run again


def _renew(r: redis.Redis, account_id: int, holder: str) -> bool:
    return bool(r.eval(_RENEW, 1, _key(HOLDER_KEY, account_id), holder, LEASE_MS))


def _let_go(r: redis.Redis, account_id: int, holder: str) -> None:
    r.eval(LET_GO, 1, _key(HOLDER_KEY, account_id), holder)


def _drain_chunk(hub: Hub, account_id: int, after: int, counts: Counter[str],
                 size: int = CHUNK) -> tuple[int, int] | None:
    """Apply up to `size` received events with ids above `after` in one transaction; the last id
    looked at and how many there were, None when there was none."""
    handed: list[int] = []
    outcomes: Counter[str] = Counter()  # counted once the chunk commits (a deadlock rolls it back whole)
    with stock_change(hub, remember=True) as change:  # ingesting orders changes no reference rows
        session = change.session
        stmt = (select(tables.WebhookEvent).where(tables.WebhookEvent.account_id == account_id,
                                                  tables.WebhookEvent.status == "received",
                                                  tables.WebhookEvent.id > after)
                .order_by(tables.WebhookEvent.id).limit(size))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)  # a drain whose lease ran out may still run
        chunk = list(session.scalars(stmt))
        if not chunk:
            return None
        account = session.get(tables.Account, account_id)
        if account is None or not account.enabled:
            return None
        for event in chunk:
            outcome = _apply(hub, change, account, event)
            outcomes[outcome] += 1
            if outcome == "handed":
                handed.append(event.id)
        last = chunk[-1].id
    counts.update(outcomes)
    for event_id in handed:  # after the commit: its job reads the event as stored
        enqueue_event(hub, event_id)
    return last, len(chunk)


def _apply(hub: Hub, change: StockChange, account: tables.Account, event: tables.WebhookEvent) -> str:
    """One event of a chunk, in its own savepoint: "processed", "handed" (its own job reads the
    order from the channel) or "failed" (it raised; the reason is kept on the event)."""
    session = change.session
    try:
        with session.begin_nested():
            outcome = _settle_event(hub, change, account, event)
    except DBAPIError:
        raise  # the database itself: the whole chunk goes back, the job's policy decides
    except Exception as exc:
        forget(session)  # what the rolled-back savepoint read or created may be gone
        reason = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:500]}"
        log.warning("webhook event %s failed: %s", event.id, reason)  # one line, not a list's repr
        mark_event(event, "failed", reason)
        return "failed"
    if outcome == "processed":
        mark_event(event, "processed", None)
    elif outcome == "handed":
        mark_reading(event)  # its job reads it (queued after the commit); no round takes it again
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
    return "handed"  # the order is read from the channel by the event's own job


# ---- waking what waits ---------------------------------------------------------------------------
def resume_account(hub: Hub, account_id: int) -> bool:
    """The account works again: drain every event that waited for it, and read those handed to reads."""
    requeue_reads(hub, [account_id])
    return wake(hub, account_id, check_queued=True)


def sweep(hub: Hub) -> dict[str, int]:
    """Wake the drain of every working account with events received over `EVENT_GRACE` ago and
    still unprocessed (a wake lost with Redis, a drain killed with its worker), and queue again the
    lost read jobs of events handed to one that long ago (`events.requeue_reads`)."""
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
