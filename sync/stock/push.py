"""The per-account stock push: every pending listing of an account, in the platform's largest batches.

Requests for a push are coalesced by `sync.stock.push_queue`; the job (`sync.jobs.push_stock`)
runs `push_stock`, which claims the account, drains until no request came in while it ran, and
lets go. A compare-and-swap write refused as stale is not resolved here: the channel's number is
kept (`stale_reads`), the listing waits, and a separate job (`sync.jobs.check_stale`, in
`sync.stock.readback`) polls the account's orders, reads the channel again and decides, then asks
for a push again. A delta sent without an answer is never sent again: it waits, undecided, for the
same job's read-back (`sync.stock.writes`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import redis
from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, load_only

from canonical.errors import MarketsyncError
from connectors.base import Capability, Connector
from connectors.errors import Interrupted, Transient
from connectors.stock import StockUpdate, StockWriteMode, StockWriteResult, WriteStatus
from connectors.waits import nap
from store import tables
from store.types import utcnow
from sync.hub import health
from sync.hub.context import Hub
from sync.hub.queues import enqueue_unique
from sync.stock import push_queue, writes
from sync.stock.confirm import request_confirmation
from sync.stock.desired import acknowledge_many, blocked_listing_ids

log = logging.getLogger(__name__)

CHECK_STALE_JOB = "sync.jobs.check_stale"
STALE_GRACE = timedelta(seconds=60)  # a stale read younger than this still has its check queued


@dataclass
class PushReport:
    account_id: int
    account: str = ""
    sent: int = 0
    batches: int = 0
    calls: int = 0
    stale: int = 0
    failed: int = 0
    submitted: int = 0
    drift: dict[str, int] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "account": self.account, "sent": self.sent,
                "batches": self.batches, "calls": self.calls, "stale": self.stale, "failed": self.failed,
                "submitted": self.submitted,
                "drift": self.drift, "changes": self.changes, "errors": self.errors[:20]}


@dataclass(frozen=True)
class PendingItem:
    listing_id: int
    sku: str
    desired: int
    acknowledged: int | None
    update: StockUpdate


def delta_id(listing: tables.Listing) -> str:
    """The idempotency id of the delta from the listing's acknowledged to its desired quantity: the
    same while that intent is unanswered, new after each acknowledgement (its time is in it)."""
    stamp = listing.acknowledged_at.isoformat() if listing.acknowledged_at else "-"
    intent = f"{listing.id}:{stamp}:{listing.acknowledged_quantity}:{listing.desired_quantity}"
    return "ms" + hashlib.sha256(intent.encode()).hexdigest()[:30]


def stock_update(listing: tables.Listing, mode: StockWriteMode) -> StockUpdate:
    """The desired quantity in the platform's write mode: a compared number for CAS, a delta from the
    acknowledged quantity (under `delta_id`) for DELTA platforms (none before any acknowledgement)."""
    assert listing.desired_quantity is not None
    acknowledged = listing.acknowledged_quantity
    delta = listing.desired_quantity - acknowledged if mode is StockWriteMode.DELTA and acknowledged is not None \
        else None
    return StockUpdate(str(listing.id), listing.external_variant_id, listing.external_product_id,
                       listing.external_inventory_item_id, None, listing.desired_quantity,
                       acknowledged if mode is StockWriteMode.ABSOLUTE_CAS else None, delta,
                       delta_id(listing) if delta is not None else None)


def pending_batch(hub: Hub, account_id: int, size: int, exclude: set[int],
                  mode: StockWriteMode) -> tuple[list[PendingItem], bool]:
    """The next `size` pending listings of an account, each as `stock_update` expresses it now, or as
    its unanswered delta went out (`sync.stock.writes`); one that cannot be sent yet joins `exclude`.
    And whether they were all there were when read (fewer rows than asked for): then the round needs
    no further read (issue 16: one more transaction of four statements each round, finding nothing).
    A listing made pending after the read comes with a request for a push (`push_queue`), so the
    claim's `finish` sends the job round again."""
    with hub.db.session() as session:
        journal = writes.journal(session, account_id)
        skip = exclude | blocked_listing_ids(session, account_id) | writes.held(journal) \
            | stale_listing_ids(session, account_id)
        resend = writes.resend(journal)
        row = tables.Listing
        stmt = (select(row, tables.Variant.sku).join(tables.Variant)
                # what a write needs, not the listing's synced fields, title or timestamps
                .options(load_only(row.id, row.account_id, row.external_product_id, row.external_variant_id,
                                   row.external_inventory_item_id, row.desired_quantity, row.acknowledged_quantity,
                                   row.acknowledged_at))
                .where(tables.Listing.account_id == account_id,
                       or_(tables.Listing.push_pending.is_(True), tables.Listing.id.in_(resend)),
                       tables.Listing.desired_quantity.is_not(None))
                .order_by(tables.Listing.id).limit(size + len(skip)))
        items = []
        rows = session.execute(stmt).all()
        complete = len(rows) < size + len(skip)
        for listing, sku in rows:
            if listing.id in skip:
                continue
            assert listing.desired_quantity is not None
            update = writes.update_for(session, listing, stock_update(listing, mode), mode, journal.get(listing.id))
            if update is None:
                exclude.add(listing.id)
                continue
            items.append(PendingItem(listing.id, sku, update.quantity, listing.acknowledged_quantity, update))
            if len(items) == size:
                complete = complete and listing.id == rows[-1][0].id
                break
        return items, complete


def _record(hub: Hub, report: PushReport, items: list[PendingItem], results: list[StockWriteResult],
            mode: StockWriteMode) -> tuple[list[tuple[int, int]], set[int]]:
    """Store each result; returns (stale listing, observed) pairs and the listings that failed."""
    by_ref = {r.listing_ref: r for r in results}
    stale: list[tuple[int, int]] = []
    failed: set[int] = set()
    applied: list[tuple[int, int, int | None]] = []
    with hub.db.session() as session:
        for item in items:
            result = by_ref.get(str(item.listing_id))
            owned = writes.settle(session, report.account_id, item.update, result,
                                  has_row=writes.journaled(item.update))
            if result is not None and not owned and result.status is not WriteStatus.SUBMITTED:
                continue  # a read-back of the channel settled this delta first (`sync.stock.readback`)
            if result is not None and result.status is WriteStatus.SUBMITTED:
                report.submitted += 1  # acknowledged only once `sync.stock.confirm` hears it was applied
            elif result is not None and result.status is WriteStatus.APPLIED:
                written, compared = writes.acknowledged_as(item.update, result, mode, item.acknowledged)
                applied.append((item.listing_id, written, compared))
                report.sent += 1
                report.changes.append({"listing_id": item.listing_id, "sku": item.sku,
                                       "from": item.acknowledged, "to": written})
            elif result is not None and result.status is WriteStatus.STALE and writes.journaled(item.update):
                report.stale += 1  # undecided: its read-back tells applied from not (`sync.stock.readback`)
            elif result is not None and result.status is WriteStatus.STALE and result.observed_quantity is not None:
                stale.append((item.listing_id, result.observed_quantity))
            else:
                failed.add(item.listing_id)
                reason = result.reason if result else "no result from the connector"
                report.errors.append(f"listing {item.listing_id} ({item.sku}): {reason}")
        acknowledge_many(session, applied)
    report.stale += len(stale)
    report.failed += len(failed)
    return stale, failed


def stale_listing_ids(session: Session, account_id: int) -> set[int]:
    """Listings whose last write was refused as stale and whose check has not run yet."""
    return {int(i) for i in session.scalars(select(tables.StaleRead.listing_id)
                                            .where(tables.StaleRead.account_id == account_id))}


def _keep_stale(hub: Hub, account_id: int, stale: list[tuple[int, int]]) -> None:
    """Remember what the channel showed; the stale check decides (a repeat keeps the latest number).
    A read the hub already follows (the channel's sale was ingested while the write was out) is
    explained at once: the listing stays pending and the next round writes it."""
    with hub.db.session() as session:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        for listing_id, observed in stale:
            if session.scalar(select(tables.Listing.acknowledged_quantity)
                              .where(tables.Listing.id == listing_id)) == observed:
                continue
            stmt = dialect.insert(tables.StaleRead).values(listing_id=listing_id, account_id=account_id,
                                                           observed=observed, seen_at=utcnow())
            session.execute(stmt.on_conflict_do_update(index_elements=["listing_id"],
                                                       set_={"observed": observed, "seen_at": utcnow()}))


def sweep_stale(hub: Hub) -> int:
    """Queue the stale check of every account with reads or undecided deltas older than a minute (a
    lost job: the push that kept them asked for one; more often, in a chaos run, a check of every
    delta-writing account with a write in doubt read its whole catalogue every sweep and held the
    workers while order reads waited); a delta left `sending` that long by a push that is gone (a worker killed
    mid-call) becomes undecided first."""
    with hub.db.session() as session:
        writes.mark_lost(session, utcnow() - STALE_GRACE, push_queue.held_accounts(session))
        accounts = {int(a) for a in session.scalars(select(tables.StaleRead.account_id).where(
            tables.StaleRead.seen_at <= utcnow() - STALE_GRACE).distinct())} \
            | writes.undecided_account_ids(session, utcnow() - STALE_GRACE)
    return sum(1 for account_id in sorted(accounts) if enqueue_stale_check(hub, account_id))


def has_undecided(hub: Hub, account_id: int) -> bool:
    with hub.db.session() as session:
        return session.scalar(select(tables.StockWrite.id).where(
            tables.StockWrite.account_id == account_id, tables.StockWrite.status == writes.UNDECIDED).limit(1)) \
            is not None


def _send(hub: Hub, connector: Connector, batch: list[PendingItem]) -> list[StockWriteResult]:
    """One batch out; when the call raises, its deltas went out (or not) unanswered: undecided."""
    try:
        return connector.set_stock([item.update for item in batch])
    except Exception:
        with hub.db.session() as session:
            writes.mark_undecided(session, [item.listing_id for item in batch if writes.journaled(item.update)])
        raise


def stale_check_id(account_id: int) -> str:
    return f"check-stale-{account_id}"


def enqueue_stale_check(hub: Hub, account_id: int) -> bool:
    """Queue a stale check of the account on the stock queue (a stock change waits for it), unless
    one is queued, scheduled or running already: one check per account at a time. A running check
    takes the reads kept while it runs in its next round; what is left after its last round the
    next push or the sweep asks for. Each check takes the reads it settles under a row lock, so two
    checks never settle one read twice.

    Issue 15: these ids were unique per call, and the sweep (every `sync.sweep_interval_s`) queued a
    check for every account with old reads each time. Each check polls the account's orders (minutes
    of a throttled shop's rate budget) on the stock queue every worker takes first: the checks piled
    up and held every worker while webhook events, order polls and shipment pushes waited."""
    delay = hub.settings.sync.stale_check_delay_s
    # the sale's own event usually explains the read first (`desired.channel_sold`): a delay
    return enqueue_unique(hub.redis, "stock", CHECK_STALE_JOB, (account_id,), stale_check_id(account_id),
                          timeout=hub.settings.workers.job_timeout_s,
                          delay=timedelta(seconds=delay) if delay > 0 else None,
                          description=f"settle stale stock reads of account {account_id}")


def learn_delta_bases(hub: Hub, account: tables.Account) -> None:
    """A delta needs a base: pending listings never acknowledged take the channel's live number first
    (a first sight, as reconciliation records it)."""
    from sync.stock.reconcile import observed_quantities

    listing = tables.Listing
    with hub.db.session() as session:
        unknown = session.scalar(select(listing.id).where(
            listing.account_id == account.id, listing.push_pending.is_(True),
            listing.acknowledged_quantity.is_(None)).limit(1))
    if unknown is None:
        return
    observed = observed_quantities(hub, account)
    with hub.db.session() as session:
        for row in session.scalars(select(listing).where(listing.account_id == account.id,
                                                         listing.acknowledged_quantity.is_(None))):
            value = observed.get(row.external_variant_id)
            if value is not None:
                row.acknowledged_quantity, row.acknowledged_at = value, utcnow()
                row.push_pending = row.desired_quantity is not None and row.desired_quantity != value


def working_account(hub: Hub, account_id: int) -> tables.Account | None:
    """The account when it is there, enabled and not failing (a read that need not wait for SQLite's
    write lock); None: nothing is pushed to it."""
    with hub.db.reading() as session:
        account = session.get(tables.Account, account_id)
        return account if account is not None and account.enabled and account.failing_since is None else None


def push_account(hub: Hub, account_id: int, connector: Connector | None = None,
                 account: tables.Account | None = None) -> PushReport:
    """Send every pending listing of one account in the platform's largest batches (`account`: as
    `working_account` gave it to the caller just now; else read here)."""
    account = account or working_account(hub, account_id)
    if account is None:
        return PushReport(account_id)
    own = connector is None
    connector = connector or hub.connector(account)
    report = PushReport(account_id, account.name)
    if not connector.can(Capability.WRITE_STOCK):
        if own:
            connector.close()
        return report
    mode, size = connector.stock_write_mode, max(connector.stock_batch_size, 1)
    exclude: set[int] = set()
    calls_before = connector.calls
    try:
        if mode is StockWriteMode.DELTA:
            learn_delta_bases(hub, account)
        complete = False
        while not complete:
            batch, complete = pending_batch(hub, account_id, size, exclude, mode)
            if not batch:
                break
            results = _send(hub, connector, batch)
            report.batches += 1
            stale, failed = _record(hub, report, batch, results, mode)
            exclude |= failed | {listing_id for listing_id, _ in stale}
            if stale:
                _keep_stale(hub, account_id, stale)
    finally:
        report.calls = connector.calls - calls_before
        if own:
            connector.close()
    if report.submitted:
        request_confirmation(hub, account_id)
    return report


def _run_record(report: PushReport, started: Any) -> Callable[[Session], None]:
    """What a round leaves in the database: its sync run (when it sent, went stale or failed) and the
    account's health, written in the transaction that ends the round (`push_queue.finish`); each was
    its own transaction before."""
    def record(session: Session) -> None:
        if report.sent or report.stale or report.failed:
            counts = {k: v for k, v in report.as_dict().items() if k in ("sent", "batches", "calls", "stale", "failed")}
            counts["drift"] = report.drift
            session.add(tables.SyncRun(kind="push", account_id=report.account_id, counts=counts,
                                       status="failed" if report.failed else "ok", started_at=started,
                                       finished_at=utcnow(), error="; ".join(report.errors[:5]) or None))
        if report.errors:
            health.record_failure(session, report.account_id, "stock push",
                                  RuntimeError("; ".join(report.errors[:3])))
        elif report.sent:
            health.record_success(session, report.account_id)
    return record


def _drain_round(hub: Hub, account_id: int, total: PushReport, connector: Connector | None = None,
                 account: tables.Account | None = None) -> Callable[[Session], None] | None:
    """One pass over the account's pending listings, added to `total`; returns what records it (the
    caller writes that with the claim's `finish`). `account`: as read for this round by the caller."""
    started = utcnow()
    report = push_account(hub, account_id, connector, account)
    total.account, total.sent = report.account, total.sent + report.sent
    total.batches, total.calls = total.batches + report.batches, total.calls + report.calls
    total.stale, total.failed = total.stale + report.stale, total.failed + report.failed
    return _run_record(report, started)


DRAIN_ROUNDS = 5  # rounds one push job drains before it hands the account over to a new job
ROUND_KEY = "marketsync:push-round:{account_id}"  # lives `push_coalesce_s` from a round's start


def _window_starts(hub: Hub, account_id: int, window: float) -> None:
    """A round starts: the account's next round, in this job or the next, starts `window` later. In
    Redis as transport only (lost, a round may follow at once, as it did before)."""
    if window > 0:
        with contextlib.suppress(redis.RedisError):
            hub.redis.set(ROUND_KEY.format(account_id=account_id), "1", px=max(int(window * 1000), 1))


def _window_left(hub: Hub, account_id: int) -> float:
    """Seconds until the account's coalescing window, started by its last round, is over (0 when idle)."""
    try:
        left = hub.redis.pttl(ROUND_KEY.format(account_id=account_id))
    except redis.RedisError:
        return 0.0
    return max(int(left), 0) / 1000


def push_stock(hub: Hub, account_id: int) -> dict[str, Any]:
    """Claim the account, push its pending stock until nothing is left and no request came in
    meanwhile, then let go (see `sync.stock.push_queue`). A job that finds the account claimed by
    a live holder ends at once: the holder drains what it was asked for.

    After `DRAIN_ROUNDS` rounds with requests still coming, the job hands the account over to a new
    job at the back of the stock queue and ends (issue 15): under a steady stream of sales a drain
    never ran out of requests, so one push job per account held a worker for as long as the sales
    lasted, and with as many busy accounts as workers no order event was processed."""
    account = working_account(hub, account_id)  # the job's first round goes on this read
    if account is None:  # removed, disabled or failing since it was queued
        return {"account_id": account_id, "skipped": "account missing, disabled or failing"}
    holder = uuid.uuid4().hex
    if not push_queue.claim(hub, account_id, holder):
        return {"account_id": account_id, "absorbed": True}
    total = PushReport(account_id)
    window = hub.settings.sync.push_coalesce_s
    connector: Connector | None = None
    try:
        # One connector for every round of the job (its client, connection and the platform's cost
        # knowledge); each round built, connected and closed its own.
        connector = hub.connector(account)
        with push_queue.ClaimKeeper(hub, account_id, holder):  # renews the lease while the drain runs
            if (rest := _window_left(hub, account_id)) > 0:  # the previous job's last round was just now
                nap(rest, where="a stock push's coalescing window")
            for rounds in range(1, DRAIN_ROUNDS + 1):
                round_started = time.monotonic()
                _window_starts(hub, account_id, window)
                record = _drain_round(hub, account_id, total, connector, account if rounds == 1 else None)
                if push_queue.finish(hub, account_id, holder, record=record):
                    break
                if rounds == DRAIN_ROUNDS:  # still asked: a new job at the back of the queue goes on
                    push_queue.hand_over(hub, account_id, holder)
                    break
                # Asked again while it drained: the changes still coming go out together in the next
                # round, which starts `push_coalesce_s` after this one did (requests meanwhile are absorbed).
                if (rest := window - (time.monotonic() - round_started)) > 0:
                    nap(rest, where="a stock push's coalescing window")
    except Interrupted:  # the worker is stopping: not the account's failure
        push_queue.release(hub, account_id, holder)
        raise
    except Transient as exc:  # the shop is away or busy: the account backs off briefly (`push_queue`)
        push_queue.release(hub, account_id, holder)
        if has_undecided(hub, account_id):  # this push's batch went out unanswered
            enqueue_stale_check(hub, account_id)
        health.failed(hub, account_id, "stock push", exc)
        wait = push_queue.back_off(hub, account_id, exc)
        return {"account_id": account_id, "backoff_s": wait, "error": f"{type(exc).__name__}: {exc}"[:500]}
    except MarketsyncError as exc:  # recorded for `status`; the job's error policy decides what follows
        push_queue.release(hub, account_id, holder)
        health.failed(hub, account_id, "stock push", exc)
        raise
    except BaseException:
        push_queue.release(hub, account_id, holder)
        raise
    finally:
        if connector is not None:
            connector.close()
    if total.stale or total.failed:  # a stale or unanswered write of this push: its check
        enqueue_stale_check(hub, account_id)
    return {k: v for k, v in total.as_dict().items() if k != "changes"}
