"""The per-account stock push job and its once-per-account enqueueing.

`request_push` enqueues `push-stock-{account}` with RQ `unique=True` (an atomic Lua check in
rq ≥ 2.x: a second enqueue while the job exists raises DuplicateJobError) and `result_ttl=0`
(a finished job's hash is deleted at once, so the id is free again). A queued job absorbs
every later request: it reads the desired values when it sends. A *running* job is told
through a Redis state key (`running` → `dirty`): before it ends, it atomically checks the
key and drains again if a request came in meanwhile, so no change made during a push is left
behind. The database stays the truth: the sweep re-enqueues whatever is still pending.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import redis
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import select

from connectors.base import Connector, StockUpdate, StockWriteResult
from store import tables
from store.types import utcnow
from sync.context import Hub
from sync.propagation import acknowledge, blocked_listing_ids
from sync.queues import queue

log = logging.getLogger(__name__)

JOB_FUNCTION = "sync.pushing.push_stock_job"
STATE_TTL_S = 900
MAX_STALE_ROUNDS = 3

_REQUEST = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SET', KEYS[1], 'dirty', 'KEEPTTL')
  return 1
end
return 0
"""
_FINISH = """
if redis.call('GET', KEYS[1]) == 'dirty' then
  redis.call('SET', KEYS[1], 'running', 'EX', ARGV[1])
  return 1
end
redis.call('DEL', KEYS[1])
return 0
"""


def job_id(account_id: int) -> str:
    return f"push-stock-{account_id}"


def state_key(account_id: int) -> str:
    return f"marketsync:push-state:{account_id}"


def _status(connection: redis.Redis, jid: str) -> JobStatus | None:
    try:
        return Job.fetch(jid, connection=connection, serializer=JSONSerializer).get_status()
    except NoSuchJobError:
        return None


def _enqueue(connection: redis.Redis, account_id: int) -> bool:
    try:
        queue("stock", connection).enqueue(JOB_FUNCTION, account_id, job_id=job_id(account_id), unique=True,
                                           result_ttl=0, description=f"push stock of account {account_id}")
        return True
    except DuplicateJobError:
        return False


def request_push(connection: redis.Redis, account_id: int) -> str | None:
    """Make sure a push job will run for `account_id` after this call; its job id (None if absorbed)."""
    jid, key = job_id(account_id), state_key(account_id)
    if connection.eval(_REQUEST, 1, key):
        if _status(connection, jid) in (JobStatus.STARTED, JobStatus.QUEUED):
            return None  # the running job sees `dirty` and drains again
        connection.delete(key)  # a job that died left its state behind
    if _enqueue(connection, account_id):
        return jid
    status = _status(connection, jid)
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return None
    if status == JobStatus.STARTED:
        # Running but past its final check, or not yet started its loop: flag it, and if it ends
        # within a moment, enqueue afresh.
        connection.set(key, "dirty", ex=STATE_TTL_S)
        for _ in range(40):
            if _status(connection, jid) != JobStatus.STARTED:
                connection.delete(key)
                return jid if _enqueue(connection, account_id) else None
            time.sleep(0.05)
        return None
    if status is not None:  # finished/failed/stopped: the worker may still be cleaning up; else a stale hash
        clear_ended(connection, jid)
    return jid if _enqueue(connection, account_id) else None


def clear_ended(connection: redis.Redis, jid: str) -> None:
    """Free the id of an ended job: wait for the worker's own cleanup, else delete what is left."""
    if not _gone(connection, jid):
        discard(connection, jid)


def _gone(connection: redis.Redis, jid: str, wait_s: float = 1.0) -> bool:
    """Wait a moment for an ended job's hash to go (result_ttl=0 deletes it right after the job)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not Job.exists(jid, connection=connection):
            return True
        time.sleep(0.02)
    return False


def discard(connection: redis.Redis, jid: str) -> None:
    """Delete an ended job that blocks its id (its raw hash when RQ cannot read it any more)."""
    try:
        Job.fetch(jid, connection=connection, serializer=JSONSerializer).delete()
    except Exception:  # a worker killed mid-job can leave a half-written execution record
        connection.delete(f"{Job.redis_job_namespace_prefix}{jid}")


@dataclass
class PushReport:
    account_id: int
    account: str = ""
    sent: int = 0
    batches: int = 0
    calls: int = 0
    stale: int = 0
    failed: int = 0
    drift: dict[str, int] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "account": self.account, "sent": self.sent,
                "batches": self.batches, "calls": self.calls, "stale": self.stale, "failed": self.failed,
                "drift": self.drift, "changes": self.changes, "errors": self.errors[:20]}


@dataclass(frozen=True)
class PendingItem:
    listing_id: int
    sku: str
    desired: int
    acknowledged: int | None
    update: StockUpdate


def pending_batch(hub: Hub, account_id: int, size: int, exclude: set[int], cas: bool) -> list[PendingItem]:
    """The next `size` pending listings of an account, with the desired values as they are now."""
    with hub.db.session() as session:
        skip = exclude | blocked_listing_ids(session, account_id)
        stmt = (select(tables.Listing, tables.Variant.sku).join(tables.Variant)
                .where(tables.Listing.account_id == account_id, tables.Listing.push_pending.is_(True),
                       tables.Listing.desired_quantity.is_not(None))
                .order_by(tables.Listing.id).limit(size + len(skip)))
        items = []
        for listing, sku in session.execute(stmt):
            if listing.id in skip:
                continue
            assert listing.desired_quantity is not None
            update = StockUpdate(str(listing.id), listing.external_variant_id, listing.external_product_id,
                                 listing.external_inventory_item_id, None, listing.desired_quantity,
                                 listing.acknowledged_quantity if cas else None)
            items.append(PendingItem(listing.id, sku, listing.desired_quantity, listing.acknowledged_quantity,
                                     update))
        return items[:size]


def _record(hub: Hub, report: PushReport, items: list[PendingItem], results: list[StockWriteResult],
            cas: bool) -> tuple[list[tuple[int, int]], set[int]]:
    """Store each result; returns (stale listing, observed) pairs and the listings that failed."""
    by_ref = {r.listing_ref: r for r in results}
    stale: list[tuple[int, int]] = []
    failed: set[int] = set()
    with hub.db.session() as session:
        for item in items:
            result = by_ref.get(str(item.listing_id))
            if result is not None and result.ok:
                written = result.quantity if result.quantity is not None else item.desired
                acknowledge(session, item.listing_id, written, compared=item.acknowledged if cas else None)
                report.sent += 1
                report.changes.append({"listing_id": item.listing_id, "sku": item.sku,
                                       "from": item.acknowledged, "to": written})
            elif result is not None and result.stale and result.observed_quantity is not None:
                stale.append((item.listing_id, result.observed_quantity))
            else:
                failed.add(item.listing_id)
                report.errors.append(f"listing {item.listing_id} ({item.sku}): "
                                     f"{result.error if result else 'no result from the connector'}")
    report.stale += len(stale)
    report.failed += len(failed)
    return stale, failed


def _resolve_stale(hub: Hub, account: tables.Account, stale: list[tuple[int, int]], report: PushReport) -> None:
    """The channel held another number: ingest its recent orders, then treat what is left as drift."""
    from sync.reconcile import ingest_recent_orders, resolve_drift

    ingest_recent_orders(hub, account.id)
    with hub.db.session() as session:
        for listing_id, observed in stale:
            listing = session.get(tables.Listing, listing_id)
            if listing is None:
                continue
            if listing.acknowledged_quantity == observed:
                continue  # explained: the orders just ingested moved acknowledged via channel_sold
            outcome = resolve_drift(session, hub.settings, account, listing, observed, found_by="push")
            report.drift[outcome] = report.drift.get(outcome, 0) + 1


def push_account(hub: Hub, account_id: int, connector: Connector | None = None) -> PushReport:
    """Send every pending listing of one account in the platform's largest batches."""
    with hub.db.session() as session:
        account = session.get(tables.Account, account_id)
        if account is None or not account.enabled:
            return PushReport(account_id)
    own = connector is None
    connector = connector or hub.connector(account)
    report = PushReport(account_id, account.name)
    cas, size = connector.supports_compare_and_swap, max(connector.stock_batch_size, 1)
    exclude: set[int] = set()
    stale_rounds: dict[int, int] = {}
    calls_before = connector.calls
    try:
        while batch := pending_batch(hub, account_id, size, exclude, cas):
            results = connector.set_stock([item.update for item in batch])
            report.batches += 1
            stale, failed = _record(hub, report, batch, results, cas)
            exclude |= failed
            for listing_id, _ in stale:
                stale_rounds[listing_id] = stale_rounds.get(listing_id, 0) + 1
                if stale_rounds[listing_id] >= MAX_STALE_ROUNDS:
                    exclude.add(listing_id)
            if stale:
                _resolve_stale(hub, account, stale, report)
    finally:
        report.calls = connector.calls - calls_before
        if own:
            connector.close()
    return report


def _save_run(hub: Hub, report: PushReport, started: Any) -> None:
    if not (report.sent or report.stale or report.failed):
        return
    counts = {k: v for k, v in report.as_dict().items() if k in ("sent", "batches", "calls", "stale", "failed")}
    counts["drift"] = report.drift
    with hub.db.session() as session:
        session.add(tables.SyncRun(kind="push", account_id=report.account_id, counts=counts,
                                   status="failed" if report.failed else "ok", started_at=started,
                                   finished_at=utcnow(), error="; ".join(report.errors[:5]) or None))


def push_stock_job(account_id: int) -> dict[str, Any]:
    """RQ job: push the account's pending stock until nothing is left (see module docstring)."""
    from sync.runtime import current_hub

    hub = current_hub()
    key = state_key(account_id)
    total = PushReport(account_id)
    while True:
        hub.redis.set(key, "running", ex=STATE_TTL_S)
        started = utcnow()
        try:
            report = push_account(hub, account_id)
        except BaseException:
            hub.redis.delete(key)
            raise
        _save_run(hub, report, started)
        total.account, total.sent = report.account, total.sent + report.sent
        total.batches, total.calls = total.batches + report.batches, total.calls + report.calls
        total.stale, total.failed = total.stale + report.stale, total.failed + report.failed
        if not hub.redis.eval(_FINISH, 1, key, STATE_TTL_S):
            break
    return {k: v for k, v in total.as_dict().items() if k != "changes"}
