"""Asking for a stock push, once per account, and the claim a push job holds while it drains.

Coalescing lives in the database, one `push_claims` row per account, changed only inside short
transactions that lock the row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE`
already serialises writers):

- `request_pushes` (after the change that made listings pending has committed) sets `requested`.
  When a live job holds the claim, that is all: the holder drains again before it lets go. When
  a job is already queued, that is all too: it has not read anything yet. Otherwise it stamps
  `queued_at` and enqueues one job (after its own commit).
- The job `claim`s: clears `queued_at`; if another live holder drains the account, it ends at
  once (the holder sees `requested`). Otherwise it becomes the holder, clears `requested` and
  drains. `finish` then either lets go or, when a request came in meanwhile, keeps the claim
  and tells the job to drain again — so a change made during a push is never left behind.

Liveness: while it drains, the holder renews `claimed_at` every `RENEW_S` from a thread of its
own (`ClaimKeeper`), so the claim is a short lease (`LEASE`) whatever the push's HTTP calls take.
A holder that died (a worker killed mid-push) stops renewing; `LEASE` later its claim counts for
nothing, and the hub's scheduler (`revive_expired`, every second) asks for a push of that account,
so its next push starts seconds after the death even when no new change arrives. A queued job counts
only while Redis still holds it (`queued_job_exists`: the job's record, named by a small key kept
next to it): a job lost with Redis (FLUSHDB, a restart empty) stops counting at once, so the next
request or the sweep enqueues another, instead of every push of the account waiting `QUEUED_GRACE`.
Jobs are named by dotted path (`sync.jobs.push_stock`), so this module sits below everything that moves stock.

The same claim serves another per-account drain through a `Lane` (its claim table, job, queue):
`sync.orders.shipment_queue` drains an account's pending shipments in one job this way.

A drain that fails transiently (5xx, timeout, unreachable, 429 after the client's retries) lets go
and `back_off`s the account: no drain of it is asked for during `workers.retry_intervals_s[0]` (or
the platform's Retry-After), then the sweep asks again. Issue 15: RQ's own retry of the job waited
10, 30, then 120 s, so work that failed three times during a 30 s outage waited two minutes after
the shop was back (and a queued retry absorbed every request meanwhile).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, cast

import redis
from rq.job import Job
from sqlalchemy import CursorResult, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connectors.base import Capability, connector_class
from connectors.errors import RateLimited, Transient, UnknownPlatform
from store import tables
from store.types import utcnow
from sync.hub.context import Hub
from sync.hub.queues import queue
from sync.stock.desired import pending_account_ids

log = logging.getLogger(__name__)

JOB_FUNCTION = "sync.jobs.push_stock"
QUEUED_GRACE = timedelta(minutes=5)  # a queued job not started by then is taken as lost (Redis flushed)
RENEW_S = 2.0  # how often a draining holder renews its claim
# A holder silent this long is dead: over three renewals missed, so a slow database write is not a death.
LEASE = timedelta(seconds=7)


QUEUED_KEY = "marketsync:push-queued:{account_id}"  # the id of the account's last queued push job

Claim = tables.PushClaim | tables.ShipmentClaim


@dataclass(frozen=True)
class Lane:
    """One kind of per-account drain: its claim table, its job (dotted path, one account id argument),
    the queue it goes on, and the Redis key naming its last queued job."""

    table: type[Claim]
    function: str
    queue: str
    queued_key: str
    job_prefix: str
    what: str
    eligible: Callable[[Session, Iterable[int]], list[int]]  # the accounts that may drain, in lock order

    @property
    def backoff_key(self) -> str:
        return f"marketsync:{self.job_prefix}-backoff:{{account_id}}"


def declares(platform: str, capability: Capability) -> bool:
    """Whether the platform's connector declares `capability` (an uninstalled one declares nothing)."""
    try:
        return capability in connector_class(platform).capabilities
    except UnknownPlatform:
        return False


def accounts_declaring(capability: Capability) -> Callable[[Session, Iterable[int]], list[int]]:
    """A lane's filter: of `account_ids`, the enabled, working accounts whose connector declares
    `capability`, in id order (the lock order)."""
    def eligible(session: Session, account_ids: Iterable[int]) -> list[int]:
        wanted = sorted(set(account_ids))
        if not wanted:
            return []
        rows = session.execute(select(tables.Account.id, tables.Account.platform).where(
            tables.Account.id.in_(wanted), tables.Account.enabled.is_(True),
            tables.Account.failing_since.is_(None)))
        return sorted(int(account_id) for account_id, platform in rows if declares(platform, capability))
    return eligible


STOCK = Lane(tables.PushClaim, JOB_FUNCTION, "stock", QUEUED_KEY, "push-stock", "push stock",
             accounts_declaring(Capability.WRITE_STOCK))


def back_off(hub: Hub, account_id: int, error: Transient, lane: Lane = STOCK) -> float:
    """The account's drain failed transiently: none is asked for during the next seconds (returned)."""
    wait = float(hub.settings.workers.retry_intervals_s[0])
    if isinstance(error, RateLimited) and error.retry_after is not None:
        wait = max(float(error.retry_after), 1.0)
    with contextlib.suppress(redis.RedisError):  # Redis is away: nothing is enqueued meanwhile anyway
        hub.redis.set(lane.backoff_key.format(account_id=account_id), "1", px=max(math.ceil(wait * 1000), 1))
    return wait


def end_backoff(hub: Hub, account_ids: Iterable[int], lane: Lane = STOCK) -> None:
    """An operator asks for the drain now."""
    with contextlib.suppress(redis.RedisError):
        for account_id in account_ids:
            hub.redis.delete(lane.backoff_key.format(account_id=account_id))


def queued_job_exists(hub: Hub, account_id: int, lane: Lane = STOCK) -> bool:
    """Whether Redis still holds the push job last queued for the account (gone with a FLUSHDB or a
    restart of Redis). An unreachable Redis counts as holding it: nothing could be enqueued anyway."""
    return _queued_jobs_exist(hub, [account_id], lane)[account_id]


def _queued_jobs_exist(hub: Hub, account_ids: list[int], lane: Lane) -> dict[int, bool]:
    """For each account, whether Redis still holds its last queued job (`queued_job_exists`), in
    two round trips for any number of accounts."""
    if not account_ids:
        return {}
    try:
        pipe = hub.redis.pipeline(transaction=False)
        for account_id in account_ids:
            pipe.get(lane.queued_key.format(account_id=account_id))
        jids = pipe.execute()
        pipe = hub.redis.pipeline(transaction=False)
        for jid in jids:
            name = jid.decode() if isinstance(jid, bytes) else str(jid)
            pipe.exists(f"{Job.redis_job_namespace_prefix}{name}")
        found = pipe.execute()
    except redis.RedisError:
        return dict.fromkeys(account_ids, True)  # unreachable: counts as held, nothing could be enqueued anyway
    return {account_id: jid is not None and bool(n)
            for account_id, jid, n in zip(account_ids, jids, found, strict=True)}


def job_id(account_id: int, lane: Lane = STOCK) -> str:
    """A fresh RQ job id: the claim row, not RQ, decides whether a job drains."""
    return f"{lane.job_prefix}-{account_id}-{uuid.uuid4().hex[:12]}"


def _locked_claim(session: Session, account_id: int, lane: Lane = STOCK) -> Claim:
    """The account's claim row, created when missing, locked for this transaction."""
    return _locked_claims(session, [account_id], lane)[0]


def _locked_claims(session: Session, account_ids: list[int], lane: Lane) -> list[Claim]:
    """The accounts' claim rows (`account_ids` ascending: the lock order), created when missing,
    locked for this transaction: one statement for any number of accounts once they have their rows
    (every time but the first), three before."""
    table = lane.table
    claims = _select_claims(session, account_ids, table)
    if [claim.account_id for claim in claims] != account_ids:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(table).values([{"account_id": a, "requested": False} for a in account_ids])
                        .on_conflict_do_nothing(index_elements=["account_id"]))
        claims = _select_claims(session, account_ids, table)
    assert [claim.account_id for claim in claims] == account_ids
    return claims


def _select_claims(session: Session, account_ids: list[int], table: type[Claim]) -> list[Claim]:
    claims: list[Claim] = []
    for claim in session.scalars(select(table).where(table.account_id.in_(account_ids))
                                 .order_by(table.account_id).with_for_update()
                                 .execution_options(populate_existing=True)):
        assert isinstance(claim, (tables.PushClaim, tables.ShipmentClaim))
        claims.append(claim)
    return claims


def _held(claim: Claim, now: datetime, lease_for: timedelta) -> bool:
    return claim.holder is not None and claim.claimed_at is not None and claim.claimed_at + lease_for > now


def request_pushes(hub: Hub, account_ids: Iterable[int]) -> list[str]:
    """After the caller's commit: make sure each account's pending stock will be pushed.

    Returns the ids of the jobs enqueued (none for an account a job already covers)."""
    return request_drains(hub, account_ids, STOCK)


def request_drains(hub: Hub, account_ids: Iterable[int], lane: Lane) -> list[str]:
    """Ask for a drain of each account in `lane`: one job queued unless a job already covers it, or
    the account backs off after a transient failure (the sweep asks again once it is over)."""
    with hub.db.session() as session:
        to_enqueue = plan_drains(hub, session, account_ids, lane)
    return enqueue_drains(hub, to_enqueue, lane)


def plan_drains(hub: Hub, session: Session, account_ids: Iterable[int], lane: Lane = STOCK) -> list[int]:
    """In the caller's transaction: mark each account's claim `requested`, and stamp `queued_at` on
    those no job covers yet (neither a live holder nor a job Redis still holds); the accounts whose job
    `enqueue_drains` queues once the transaction has committed. A stock change does this in its own
    transaction (`sync.stock.change.stock_change`), so the listings it made pending and the request
    for their push commit together, in one transaction instead of two (issue 16)."""
    now = utcnow()
    candidates = sorted(set(account_ids))
    if not candidates:
        return []
    backing_off, last_jobs = _redis_state(hub, candidates, lane)
    wanted = [a for a in candidates if not backing_off[a]]
    eligible = lane.eligible(session, wanted)
    claims = _locked_claims(session, eligible, lane) if eligible else []
    recent = [c.account_id for c in claims if c.queued_at is not None and c.queued_at + QUEUED_GRACE > now]
    still_queued = _jobs_exist(hub, {a: last_jobs[a] for a in recent})
    to_enqueue: list[int] = []
    for claim in claims:
        claim.requested = True
        if not still_queued.get(claim.account_id, False) and not _held(claim, now, LEASE):
            claim.queued_at = now
            to_enqueue.append(claim.account_id)
    return to_enqueue


def enqueue_drains(hub: Hub, account_ids: list[int], lane: Lane = STOCK) -> list[str]:
    """Queue a drain job of each account (`plan_drains` stamped their claims, and that committed),
    and the key naming it."""
    if not account_ids:
        return []
    jobs = []
    q = queue(lane.queue, hub.redis)
    for account_id in account_ids:
        jid = job_id(account_id, lane)
        q.enqueue_call(lane.function, args=(account_id,), job_id=jid, result_ttl=0,
                       timeout=hub.settings.workers.job_timeout_s,
                       description=f"{lane.what} of account {account_id}")
        hub.redis.set(lane.queued_key.format(account_id=account_id), jid, ex=int(QUEUED_GRACE.total_seconds()))
        jobs.append(jid)
    return jobs


def _redis_state(hub: Hub, account_ids: list[int], lane: Lane) -> tuple[dict[int, bool], dict[int, str | None]]:
    """For each account, whether it backs off (`back_off`) and the id of its last queued job, in one
    round trip; an unreachable Redis counts as none backing off and every job still held (nothing
    could be enqueued anyway)."""
    try:
        pipe = hub.redis.pipeline(transaction=False)
        for account_id in account_ids:
            pipe.exists(lane.backoff_key.format(account_id=account_id))
            pipe.get(lane.queued_key.format(account_id=account_id))
        found = pipe.execute()
    except redis.RedisError:
        return dict.fromkeys(account_ids, False), dict.fromkeys(account_ids, _UNREACHABLE)
    off = {a: bool(n) for a, n in zip(account_ids, found[0::2], strict=True)}
    jids = {a: (j.decode() if isinstance(j, bytes) else j) for a, j in zip(account_ids, found[1::2], strict=True)}
    return off, jids


_UNREACHABLE = "\0unreachable"  # `_redis_state` without Redis: every job counts as still held


def _jobs_exist(hub: Hub, jids: dict[int, str | None]) -> dict[int, bool]:
    """For each account, whether Redis still holds the job named (None: no job named); one round trip."""
    named = {a: j for a, j in jids.items() if j is not None}
    if not named:
        return dict.fromkeys(jids, False)
    if _UNREACHABLE in named.values():
        return dict.fromkeys(jids, True)
    try:
        pipe = hub.redis.pipeline(transaction=False)
        for jid in named.values():
            pipe.exists(f"{Job.redis_job_namespace_prefix}{jid}")
        found = dict(zip(named, pipe.execute(), strict=True))
    except redis.RedisError:
        return dict.fromkeys(jids, True)
    return {a: bool(found.get(a, 0)) for a in jids}


def schedule_pushes(hub: Hub, account_ids: Iterable[int] | None = None) -> list[str]:
    """Ask for pushes for the accounts (default: all) that the database says have pending listings."""
    with hub.db.session() as session:
        accounts = pending_account_ids(session, account_ids)
    return request_pushes(hub, accounts)


def claim(hub: Hub, account_id: int, holder: str, lane: Lane = STOCK) -> bool:
    """Become the account's draining job; False when a live holder already drains it."""
    now = utcnow()
    with hub.db.session() as session:
        row = _locked_claim(session, account_id, lane)
        row.queued_at = None
        if _held(row, now, LEASE) and row.holder != holder:
            return False
        row.holder, row.claimed_at, row.requested = holder, now, False
        return True


def finish(hub: Hub, account_id: int, holder: str, lane: Lane = STOCK,
           record: Callable[[Session], None] | None = None) -> bool:
    """After a drain: True when the job may end (claim released); False to drain again. `record`
    writes what the round leaves (its run, the account's health) in the same transaction."""
    with hub.db.session() as session:
        row = _locked_claim(session, account_id, lane)
        if record is not None:
            record(session)
        if row.holder != holder:
            return True  # the lease ran out and another job took over: it drains
        if row.requested:
            row.requested, row.claimed_at = False, utcnow()
            return False
        row.holder = row.claimed_at = None
        return True


def hand_over(hub: Hub, account_id: int, holder: str, lane: Lane = STOCK) -> list[str]:
    """The holder stops draining though requests keep coming: it lets go, the request stays, and a
    new job is queued at the back of the lane's queue (a worker can take other work in between)."""
    with hub.db.session() as session:
        row = _locked_claim(session, account_id, lane)
        if row.holder == holder:
            row.holder = row.claimed_at = None
            row.requested = True
    return request_drains(hub, [account_id], lane)


def release(hub: Hub, account_id: int, holder: str, lane: Lane = STOCK) -> None:
    """Let go after a failure (the job is retried or the sweep asks again); requests stay."""
    with hub.db.session() as session:
        row = _locked_claim(session, account_id, lane)
        if row.holder == holder:
            row.holder = row.claimed_at = None


def busy_accounts(hub: Hub, account_ids: Iterable[int]) -> set[int]:
    """Accounts with a push queued or running now (what `sync --once` waits for)."""
    now, lease_for = utcnow(), LEASE
    wanted = list(account_ids)
    with hub.db.sessions() as session:
        rows = session.scalars(select(tables.PushClaim).where(tables.PushClaim.account_id.in_(wanted))).all()
        return {row.account_id for row in rows
                if _held(row, now, lease_for) or (row.queued_at is not None and row.queued_at + QUEUED_GRACE > now
                                                  and queued_job_exists(hub, row.account_id))}


def held_accounts(session: Session) -> set[int]:
    """Accounts a live push drains now (its lease not run out)."""
    now = utcnow()
    return {int(row.account_id) for row in session.scalars(select(tables.PushClaim).where(
        tables.PushClaim.holder.is_not(None))) if _held(row, now, LEASE)}


def renew(hub: Hub, account_id: int, holder: str, lane: Lane = STOCK) -> bool:
    """Extend the holder's lease; False when it holds the claim no more (it ran out, another took over)."""
    table = lane.table
    with hub.db.session() as session:
        result = cast(CursorResult[Any], session.execute(
            update(table).where(table.account_id == account_id, table.holder == holder).values(claimed_at=utcnow())))
        return bool(result.rowcount)


def revive_expired(hub: Hub, lane: Lane = STOCK) -> list[str]:
    """Ask for a drain of every account whose holder stopped renewing (its worker died); the job ids."""
    cutoff, table = utcnow() - LEASE, lane.table
    with hub.db.sessions() as session:
        expired = session.scalars(select(table.account_id).where(
            table.holder.is_not(None), table.claimed_at < cutoff)).all()
    return request_drains(hub, expired, lane) if expired else []


class ClaimKeeper:
    """Renews a holder's claim every `RENEW_S` from a daemon thread, for as long as the drain runs."""

    def __init__(self, hub: Hub, account_id: int, holder: str, lane: Lane = STOCK) -> None:
        self.hub, self.account_id, self.holder, self.lane = hub, account_id, holder, lane
        self.lost = False  # another job took the claim over: this one's drain is no longer the account's
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"push-claim-{account_id}", daemon=True)

    def __enter__(self) -> ClaimKeeper:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=RENEW_S)

    def _run(self) -> None:
        while not self._stop.wait(RENEW_S):
            try:
                if not renew(self.hub, self.account_id, self.holder, self.lane):
                    self.lost = True
                    return
            except Exception as exc:  # the database blipped: the next renewal may pass, the lease allows it
                log.warning("%s of account %s could not renew its claim: %s", self.lane.what, self.account_id,
                            type(exc).__name__)
