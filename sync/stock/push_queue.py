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
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, cast

import redis
from rq.job import Job
from sqlalchemy import CursorResult, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connectors.base import Capability, connector_class
from connectors.errors import UnknownPlatform
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


def queued_job_exists(hub: Hub, account_id: int) -> bool:
    """Whether Redis still holds the push job last queued for the account (gone with a FLUSHDB or a
    restart of Redis). An unreachable Redis counts as holding it: nothing could be enqueued anyway."""
    try:
        jid = hub.redis.get(QUEUED_KEY.format(account_id=account_id))
        if jid is None:
            return False
        name = jid.decode() if isinstance(jid, bytes) else str(jid)
        return bool(hub.redis.exists(f"{Job.redis_job_namespace_prefix}{name}"))
    except redis.RedisError:
        return True


def job_id(account_id: int) -> str:
    """A fresh RQ job id: the claim row, not RQ, decides whether a job drains."""
    return f"push-stock-{account_id}-{uuid.uuid4().hex[:12]}"


def can_push(platform: str) -> bool:
    """Whether the platform's connector declares stock writes."""
    try:
        return Capability.WRITE_STOCK in connector_class(platform).capabilities
    except UnknownPlatform:
        return False


def _locked_claim(session: Session, account_id: int) -> tables.PushClaim:
    """The account's claim row, created when missing, locked for this transaction."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(tables.PushClaim).values(account_id=account_id, requested=False)
                    .on_conflict_do_nothing(index_elements=["account_id"]))
    claim = session.scalar(select(tables.PushClaim).where(tables.PushClaim.account_id == account_id)
                           .with_for_update().execution_options(populate_existing=True))
    assert claim is not None
    return claim


def _held(claim: tables.PushClaim, now: datetime, lease_for: timedelta) -> bool:
    return claim.holder is not None and claim.claimed_at is not None and claim.claimed_at + lease_for > now


def _pushable(session: Session, account_ids: Iterable[int]) -> list[int]:
    """Enabled, working accounts whose connector writes stock, in id order (the lock order)."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return []
    rows = session.execute(select(tables.Account.id, tables.Account.platform).where(
        tables.Account.id.in_(wanted), tables.Account.enabled.is_(True), tables.Account.failing_since.is_(None)))
    return sorted(int(account_id) for account_id, platform in rows if can_push(platform))


def request_pushes(hub: Hub, account_ids: Iterable[int]) -> list[str]:
    """After the caller's commit: make sure each account's pending stock will be pushed.

    Returns the ids of the jobs enqueued (none for an account a job already covers)."""
    now, lease_for = utcnow(), LEASE
    to_enqueue: list[int] = []
    with hub.db.session() as session:
        for account_id in _pushable(session, account_ids):
            claim = _locked_claim(session, account_id)
            claim.requested = True
            queued = claim.queued_at is not None and claim.queued_at + QUEUED_GRACE > now \
                and queued_job_exists(hub, account_id)
            if not queued and not _held(claim, now, lease_for):
                claim.queued_at = now
                to_enqueue.append(account_id)
    jobs = []
    for account_id in to_enqueue:
        jid = job_id(account_id)
        queue("stock", hub.redis).enqueue(JOB_FUNCTION, account_id, job_id=jid, result_ttl=0,
                                          job_timeout=hub.settings.workers.job_timeout_s,
                                          description=f"push stock of account {account_id}")
        hub.redis.set(QUEUED_KEY.format(account_id=account_id), jid, ex=int(QUEUED_GRACE.total_seconds()))
        jobs.append(jid)
    return jobs


def schedule_pushes(hub: Hub, account_ids: Iterable[int] | None = None) -> list[str]:
    """Ask for pushes for the accounts (default: all) that the database says have pending listings."""
    with hub.db.session() as session:
        accounts = pending_account_ids(session, account_ids)
    return request_pushes(hub, accounts)


def claim(hub: Hub, account_id: int, holder: str) -> bool:
    """Become the account's draining job; False when a live holder already drains it."""
    now = utcnow()
    with hub.db.session() as session:
        row = _locked_claim(session, account_id)
        row.queued_at = None
        if _held(row, now, LEASE) and row.holder != holder:
            return False
        row.holder, row.claimed_at, row.requested = holder, now, False
        return True


def finish(hub: Hub, account_id: int, holder: str) -> bool:
    """After a drain: True when the job may end (claim released); False to drain again."""
    with hub.db.session() as session:
        row = _locked_claim(session, account_id)
        if row.holder != holder:
            return True  # the lease ran out and another job took over: it drains
        if row.requested:
            row.requested, row.claimed_at = False, utcnow()
            return False
        row.holder = row.claimed_at = None
        return True


def hand_over(hub: Hub, account_id: int, holder: str) -> list[str]:
    """The holder stops draining though requests keep coming: it lets go, the request stays, and a
    new job is queued at the back of the stock queue (a worker can take other work in between)."""
    with hub.db.session() as session:
        row = _locked_claim(session, account_id)
        if row.holder == holder:
            row.holder = row.claimed_at = None
            row.requested = True
    return request_pushes(hub, [account_id])


def release(hub: Hub, account_id: int, holder: str) -> None:
    """Let go after a failure (the job is retried or the sweep asks again); requests stay."""
    with hub.db.session() as session:
        row = _locked_claim(session, account_id)
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


def renew(hub: Hub, account_id: int, holder: str) -> bool:
    """Extend the holder's lease; False when it holds the claim no more (it ran out, another took over)."""
    with hub.db.session() as session:
        result = cast(CursorResult[Any], session.execute(
            update(tables.PushClaim).where(tables.PushClaim.account_id == account_id,
                                           tables.PushClaim.holder == holder).values(claimed_at=utcnow())))
        return bool(result.rowcount)


def revive_expired(hub: Hub) -> list[str]:
    """Ask for a push of every account whose holder stopped renewing (its worker died); the job ids."""
    cutoff = utcnow() - LEASE
    with hub.db.sessions() as session:
        expired = session.scalars(select(tables.PushClaim.account_id).where(
            tables.PushClaim.holder.is_not(None), tables.PushClaim.claimed_at < cutoff)).all()
    return request_pushes(hub, expired) if expired else []


class ClaimKeeper:
    """Renews a holder's claim every `RENEW_S` from a daemon thread, for as long as the drain runs."""

    def __init__(self, hub: Hub, account_id: int, holder: str) -> None:
        self.hub, self.account_id, self.holder = hub, account_id, holder
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
                if not renew(self.hub, self.account_id, self.holder):
                    self.lost = True
                    return
            except Exception as exc:  # the database blipped: the next renewal may pass, the lease allows it
                log.warning("push of account %s could not renew its claim: %s", self.account_id,
                            type(exc).__name__)
