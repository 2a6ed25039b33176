"""Confirming writes a platform only accepted (`submitted`): ask until each is applied or rejected.

A push that gets `submitted` back keeps the write in `stock_writes` with its handle and leaves the
listing's acknowledged quantity alone. This job asks the platform (`Connector.stock_write_status`)
about every such write of one account, a few times a few moments apart; an applied write is
acknowledged then (a delta relative to its base, as the push would have), a rejected one is
dropped with its reason recorded, so the next push recomputes. What is still waiting when the job
ends is asked again by the next run (the sweep enqueues one for every account with waiting writes).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from connectors.base import Connector
from connectors.stock import StockWriteMode, SubmittedWrite, WriteStatus
from store import tables
from store.types import utcnow
from sync.hub.context import Hub
from sync.hub.queues import enqueue_unique
from sync.stock import writes
from sync.stock.desired import acknowledge

log = logging.getLogger(__name__)

JOB_FUNCTION = "sync.jobs.confirm_stock_writes"
ROUNDS = 20           # questions per job run
PAUSE_S = 0.25        # between two questions, doubling up to MAX_PAUSE_S
MAX_PAUSE_S = 2.0


def job_id(account_id: int) -> str:
    return f"confirm-stock-writes-{account_id}"


@dataclass
class ConfirmReport:
    account_id: int
    applied: int = 0
    rejected: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "applied": self.applied, "rejected": self.rejected,
                "waiting": self.waiting, "errors": self.errors[:20]}


def _waiting(hub: Hub, account_id: int) -> list[SubmittedWrite]:
    with hub.db.session() as session:
        rows = session.execute(select(tables.StockWrite, tables.Listing)
                               .join(tables.Listing, tables.Listing.id == tables.StockWrite.listing_id)
                               .where(tables.StockWrite.account_id == account_id,
                                      tables.StockWrite.status == writes.SUBMITTED)
                               .order_by(tables.StockWrite.id)).all()
        return [SubmittedWrite(str(listing.id), row.handle or "", writes.update_from_row(listing, row))
                for row, listing in rows]


def _ask_once(hub: Hub, connector: Connector, account_id: int, report: ConfirmReport) -> int:
    """One question about every waiting write; returns how many are still waiting."""
    waiting = _waiting(hub, account_id)
    if not waiting:
        return 0
    by_ref = {w.listing_ref: w for w in waiting}
    mode = connector.stock_write_mode
    still = 0
    with hub.db.session() as session:
        for result in connector.stock_write_status(waiting):
            submitted = by_ref.get(result.listing_ref)
            if submitted is None:
                continue
            if result.status is WriteStatus.SUBMITTED:
                still += 1
                continue
            if result.status is WriteStatus.APPLIED:
                listing = session.get(tables.Listing, int(result.listing_ref))
                acknowledged = listing.acknowledged_quantity if listing is not None else None
                written, compared = writes.acknowledged_as(submitted.update, result, mode, acknowledged)
                if mode is StockWriteMode.ABSOLUTE_CAS:
                    compared = None  # confirmed later: the channel holds the number written, no CAS base left
                acknowledge(session, int(result.listing_ref), written, compared=compared)
                report.applied += 1
            else:
                report.rejected += 1
                report.errors.append(f"listing {result.listing_ref}: {result.reason or result.status.value}")
            writes.settle(session, account_id, submitted.update, result)
    return still


def confirm_account(hub: Hub, account_id: int, connector: Connector | None = None, *,
                    rounds: int = ROUNDS) -> ConfirmReport:
    """Ask about the account's submitted writes until none waits or `rounds` questions were asked."""
    report = ConfirmReport(account_id)
    with hub.db.session() as session:
        account = session.get(tables.Account, account_id)
        if account is None or not account.enabled:
            return report
    own = connector is None
    connector = connector or hub.connector(account)
    pause = PAUSE_S
    started = utcnow()
    try:
        for round_number in range(rounds):
            report.waiting = _ask_once(hub, connector, account_id, report)
            if not report.waiting or round_number == rounds - 1:
                break
            time.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_S)
    finally:
        if own:
            connector.close()
    _save_run(hub, report, started)
    return report


def _save_run(hub: Hub, report: ConfirmReport, started: Any) -> None:
    if not (report.applied or report.rejected):
        return
    with hub.db.session() as session:
        session.add(tables.SyncRun(kind="confirm", account_id=report.account_id,
                                   counts={k: v for k, v in report.as_dict().items() if k != "errors"},
                                   status="failed" if report.rejected else "ok", started_at=started,
                                   finished_at=utcnow(), error="; ".join(report.errors[:5]) or None))
    for error in report.errors:
        log.warning("account %s: a submitted stock write was rejected: %s", report.account_id, error)


def waiting_account_ids(hub: Hub) -> list[int]:
    with hub.db.session() as session:
        return sorted(int(a) for a in session.scalars(select(tables.StockWrite.account_id).where(
            tables.StockWrite.status == writes.SUBMITTED).distinct()))


def request_confirmation(hub: Hub, account_id: int) -> bool:
    """Enqueue the account's confirmation job once (a queued or running one absorbs the request)."""
    return enqueue_unique(hub.redis, "stock", JOB_FUNCTION, (account_id,), job_id(account_id))


def sweep(hub: Hub) -> dict[str, int]:
    """Enqueue a confirmation for every account with writes still waiting (lost jobs, ended runs)."""
    return {"confirmations": sum(1 for a in waiting_account_ids(hub) if request_confirmation(hub, a))}
