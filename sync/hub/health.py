"""An account's health: when its periodic work last succeeded, and its last error.

Polls, stock pushes and reconciles call `succeeded` / `failed`. A failure of the platform (a
`MarketsyncError`: unreachable, refused credentials, throttled beyond retries) is recorded and
logged as one line; the job then ends without a traceback, because the next cycle tries again.
`marketsync status` shows each account's state and `sync --once` counts a failure.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from store import tables
from store.types import utcnow
from sync.hub.context import Hub

log = logging.getLogger("marketsync.accounts")


def succeeded(hub: Hub, account_id: int) -> None:
    with hub.db.session() as session:
        record_success(session, account_id)


def record_success(session: Session, account_id: int) -> None:
    """`succeeded` in the caller's transaction."""
    session.execute(update(tables.Account).where(tables.Account.id == account_id).values(last_success_at=utcnow()))


def failed(hub: Hub, account_id: int, doing: str, error: BaseException) -> dict[str, str]:
    """Record and log (one line) that `doing` failed for the account; what the job returns."""
    with hub.db.session() as session:
        return record_failure(session, account_id, doing, error)


def record_failure(session: Session, account_id: int, doing: str, error: BaseException) -> dict[str, str]:
    """`failed` in the caller's transaction."""
    message = " ".join(str(error).split())[:1000] or type(error).__name__
    session.execute(update(tables.Account).where(tables.Account.id == account_id)
                    .values(last_error_at=utcnow(), last_error=f"{doing}: {message}"))
    log.warning("account %s: %s failed: %s", account_id, doing, message)
    return {"failed": f"{doing}: {message}"}


def failed_since(hub: Hub, account_ids: list[int], moment: datetime) -> dict[int, str]:
    """Accounts whose last error is newer than `moment` (and newer than their last success)."""
    with hub.db.session() as session:
        rows = session.execute(select(tables.Account.id, tables.Account.last_error, tables.Account.last_error_at,
                                      tables.Account.last_success_at)
                               .where(tables.Account.id.in_(account_ids))).all()
    return {int(row.id): str(row.last_error) for row in rows
            if row.last_error_at is not None and row.last_error_at >= moment
            and (row.last_success_at is None or row.last_success_at <= row.last_error_at)}


# Jobs whose first argument is an account id (a failed one counts against that account).
ACCOUNT_JOBS = ("sync.jobs.poll_orders", "sync.jobs.reconcile_account", "sync.jobs.push_stock",
                "sync.jobs.import_catalog", "sync.jobs.refresh_listings", "sync.jobs.push_listings")


def failed_jobs_by_account(hub: Hub) -> dict[int, int]:
    from rq.job import Job
    from rq.registry import FailedJobRegistry
    from rq.serializers import JSONSerializer

    from sync.hub.queues import all_queues

    counts: dict[int, int] = {}
    for queue in all_queues(hub.redis):
        ids = FailedJobRegistry(queue=queue).get_job_ids()
        for job in Job.fetch_many(ids, connection=hub.redis, serializer=JSONSerializer):
            if job is None or job.func_name not in ACCOUNT_JOBS or not job.args:
                continue
            counts[int(job.args[0])] = counts.get(int(job.args[0]), 0) + 1
    return counts


def account_states(hub: Hub) -> list[dict[str, object]]:
    """Per account: enabled, last success, last error, pending stock and shipment pushes, failed jobs."""
    with hub.db.session() as session:
        accounts = session.scalars(select(tables.Account).order_by(tables.Account.name)).all()
        stock = dict(session.execute(select(tables.Listing.account_id, func.count()).where(
            tables.Listing.push_pending.is_(True)).group_by(tables.Listing.account_id)).all())
        ships = dict(session.execute(
            select(tables.Order.account_id, func.count())
            .join(tables.Shipment, tables.Shipment.order_id == tables.Order.id)
            .where(tables.Shipment.push_status.in_(("pending", "failed"))).group_by(tables.Order.account_id)).all())
    failed_jobs = failed_jobs_by_account(hub)
    return [{"account": a.name, "platform": a.platform, "enabled": a.enabled,
             "state": _state(a), "last_success_at": a.last_success_at.isoformat() if a.last_success_at else None,
             "last_error_at": a.last_error_at.isoformat() if a.last_error_at else None,
             "last_error": a.last_error, "pending_stock_pushes": int(stock.get(a.id, 0)),
             "pending_shipment_pushes": int(ships.get(a.id, 0)), "failed_jobs": failed_jobs.get(a.id, 0)}
            for a in accounts]


def _state(account: tables.Account) -> str:
    if not account.enabled:
        return "disabled"
    if account.last_error_at is not None and (account.last_success_at is None
                                              or account.last_error_at >= account.last_success_at):
        return "failing"
    return "ok" if account.last_success_at is not None else "not run yet"
