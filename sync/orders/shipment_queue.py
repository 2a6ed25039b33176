"""Pushing an account's pending shipments: one job per account drains them on one connector.

Issue 15: each shipment had a push job of its own on the orders queue, each building a connector
and making its calls one shipment at a time behind webhook events and order polls; in the chaos run
(3,600 orders, 721 shipments) 406 shipments were still pending at the deadline. Now:

- `request(hub, account_ids)` (after the commit that made a shipment pending) asks for a drain
  through the account's `shipment_claims` row, the same claim as stock pushes
  (`sync.stock.push_queue`): one job queued or draining per account; a request while it drains
  makes it drain again before it lets go; a holder that died is taken over within its lease.
- The job (`sync.jobs.push_shipments`) pushes the account's pending shipments, fewest attempts
  first then oldest (one that keeps failing does not hold the others back), each with
  `sync.orders.shipment_push.push_shipment` on the one connector; that push re-reads the channel's
  fulfilments before it creates one, so a push repeated after an ambiguous failure is not doubled.
- A refusal is the shipment's (`rejected`, or a `conflict` for an order cancelled first); the drain
  goes on with the next one.
- A transient failure (5xx, timeout, unreachable, 429 after the client's own retries) is the
  account's: the shipment stays pending with the reason, the drain stops, and the account is not
  asked again for `backoff_s` (`workers.retry_intervals_s[0]`, or the platform's Retry-After; a Redis
  key with that expiry). The sweep asks again after it: a platform back from an outage gets its
  shipments within seconds, not after RQ's growing retry waits (10, 30, 120 s...). A shipment that
  failed on more attempts than `workers.retry_intervals_s` has entries becomes `failed`, as when
  RQ's retries were used up; `marketsync ship push` tries it again.
- A rate-limit wait longer than `PATIENCE_S` (a throttling storm's 429s, a paused budget) is not
  sat out in the job: the account backs off for the wait, the job is handed back to the queue for
  after it (`sync.jobs.push_shipments`, `connectors.waits.patience`), its worker takes other work,
  and the shipment's attempts are not counted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from canonical.errors import one_line
from connectors.base import Capability
from connectors.errors import Deferred, Interrupted, RateLimited, Rejected, Transient
from store import tables
from sync.hub.accounts import job_account
from sync.hub.context import Hub
from sync.hub.queues import yield_turn
from sync.orders.shipment_push import push_shipment
from sync.orders.shipments import note_failure, shipment_account_id
from sync.stock import push_queue

log = logging.getLogger(__name__)

BATCH = 25  # shipments one job pushes before it hands the account over to a new job
DRAIN_ROUNDS = 5  # rounds one job drains (asked again meanwhile) before it hands over
PATIENCE_S = 0.5  # a longer wait for rate points or a rate-limit answer hands the job back


_shippable = push_queue.accounts_declaring(Capability.WRITE_SHIPMENTS)

LANE = push_queue.Lane(tables.ShipmentClaim, "sync.jobs.push_shipments", "shipments",
                       "marketsync:ship-queued:{account_id}", "push-shipments", "push shipments", _shippable)


def request(hub: Hub, account_ids: Iterable[int]) -> list[str]:
    """Make sure each account's pending shipments will be pushed (not before its backoff ends);
    the ids of the jobs enqueued."""
    return push_queue.request_drains(hub, account_ids, LANE)


def due(session: Session, account_id: int) -> list[int]:
    """The account's next `BATCH` pending shipments: fewest attempts first, then oldest."""
    stmt = (select(tables.Shipment.id).join(tables.Order, tables.Order.id == tables.Shipment.order_id)
            .where(tables.Order.account_id == account_id, tables.Shipment.push_status == "pending")
            .order_by(tables.Shipment.push_attempts, tables.Shipment.id).limit(BATCH))
    return [int(i) for i in session.scalars(stmt)]


@dataclass
class DrainReport:
    account_id: int
    statuses: dict[str, int] = field(default_factory=dict)
    backoff_s: float | None = None

    def count(self, status: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "shipments": self.statuses, "backoff_s": self.backoff_s}


def note_transient(hub: Hub, shipment_id: int, error: Transient) -> str:
    """Keep the reason; `failed` once the shipment's attempts outnumber the retry intervals."""
    with hub.db.session() as session:
        attempts = session.scalar(select(tables.Shipment.push_attempts).where(tables.Shipment.id == shipment_id))
    status = "failed" if (attempts or 0) > len(hub.settings.workers.retry_intervals_s) else "pending"
    note_failure(hub, shipment_id, status, one_line(error))
    return status


def uncount_attempt(hub: Hub, shipment_id: int) -> None:
    """The push counted an attempt before its call, and the call was not made or not applied."""
    with hub.db.session() as session:
        session.execute(update(tables.Shipment).where(tables.Shipment.id == shipment_id,
                                                      tables.Shipment.push_attempts > 0)
                        .values(push_attempts=tables.Shipment.push_attempts - 1))


DONE, MORE, BACKING_OFF = "done", "more", "backing off"


def drain_once(hub: Hub, account_id: int, report: DrainReport, keeper: push_queue.ClaimKeeper) -> str:
    """Push the account's next `BATCH` pending shipments: DONE, MORE (a full batch went: there may
    be more), or BACKING_OFF (a transient failure stopped it)."""
    with hub.db.session() as session:
        account = job_account(session, account_id)
        batch = due(session, account_id) if account is not None else []
    if account is None or not batch:
        return DONE
    connector = hub.connector(account)
    try:
        for shipment_id in batch:
            if keeper.lost:  # another job took the account over: its drain, not this one
                return DONE
            try:
                report.count(push_shipment(hub, shipment_id, connector=connector))
            except Rejected as exc:
                note_failure(hub, shipment_id, "rejected", one_line(exc))
                report.count("rejected")
            except Deferred as exc:  # a rate-limit wait past the job's patience: not the shipment's failure
                uncount_attempt(hub, shipment_id)  # nothing was applied (a wait, or a rate-limit answer)
                report.backoff_s = push_queue.back_off(hub, account_id, RateLimited(
                    exc.where, retry_after=exc.retry_after), LANE)  # requests meanwhile wait for the job
                raise
            except Interrupted:
                raise
            except Transient as exc:
                report.count(note_transient(hub, shipment_id, exc))
                report.backoff_s = push_queue.back_off(hub, account_id, exc, LANE)
                log.warning("shipments of account %s wait %.0f s: %s", account_id, report.backoff_s,
                            one_line(exc))
                return BACKING_OFF
    finally:
        connector.close()
    return MORE if len(batch) == BATCH else DONE


def push_shipments(hub: Hub, account_id: int) -> dict[str, Any]:
    """Claim the account and push its pending shipments until none is left and no request came in
    meanwhile, then let go; a job that finds a live holder ends at once (the holder drains)."""
    with hub.db.session() as session:
        if job_account(session, account_id) is None:
            return {"account_id": account_id, "skipped": "account missing or disabled"}
    holder = uuid.uuid4().hex
    if not push_queue.claim(hub, account_id, holder, LANE):
        return {"account_id": account_id, "absorbed": True}
    report = DrainReport(account_id)
    try:
        with push_queue.ClaimKeeper(hub, account_id, holder, LANE) as keeper:
            for rounds in range(1, DRAIN_ROUNDS + 1):
                outcome = drain_once(hub, account_id, report, keeper)
                if outcome == BACKING_OFF:
                    push_queue.release(hub, account_id, holder, LANE)  # the sweep asks again after the backoff
                    break
                # more to push, or still asked: a new job at the back of the queue goes on (a worker
                # takes the webhook events waiting meanwhile)
                if outcome == MORE or rounds == DRAIN_ROUNDS:
                    push_queue.hand_over(hub, account_id, holder, LANE)
                    yield_turn()
                    break
                if push_queue.finish(hub, account_id, holder, LANE):
                    break
    except BaseException:
        push_queue.release(hub, account_id, holder, LANE)
        raise
    return report.as_dict()


def pending_account_ids(session: Session) -> list[int]:
    return [int(a) for a in session.scalars(
        select(tables.Order.account_id).join(tables.Shipment, tables.Shipment.order_id == tables.Order.id)
        .where(tables.Shipment.push_status == "pending").distinct())]


def enqueue_push(hub: Hub, shipment_id: int) -> bool:
    """After the commit that created a pending shipment: ask for a drain of its account. False when
    the account pushes nothing now (disabled, failing: `resume_account` asks once it works again)."""
    account_id = shipment_account_id(hub, shipment_id)
    if account_id is None:
        return False
    with hub.db.session() as session:
        if not _shippable(session, [account_id]):
            return False
    request(hub, [account_id])
    return True


def push_now(hub: Hub, shipment_ids: Iterable[int] | None = None) -> int:
    """What `marketsync ship push` asks: the given shipments (every failed one without ids) become
    pending again and their accounts drain now, backoff or not; how many shipments are due."""
    wanted = list(shipment_ids or [])
    with hub.db.session() as session:
        stmt = (select(tables.Shipment, tables.Order.account_id)
                .join(tables.Order, tables.Order.id == tables.Shipment.order_id))
        stmt = stmt.where(tables.Shipment.id.in_(wanted)) if wanted else \
            stmt.where(tables.Shipment.push_status.in_(("pending", "failed")))
        rows = session.execute(stmt).all()
        accounts: set[int] = set()
        for shipment, account_id in rows:
            if shipment.push_status in ("pushed", "channel", "conflict"):
                continue
            shipment.push_status = "pending"
            accounts.add(int(account_id))
        due_now = sum(1 for shipment, _ in rows if shipment.push_status == "pending")
    push_queue.end_backoff(hub, accounts, LANE)
    request(hub, accounts)
    return due_now


def resume_account(hub: Hub, account_id: int) -> int:
    """The account works again: its pending shipments are drained (jobs queued: 0 or 1)."""
    return len(request(hub, [account_id]))


def sweep(hub: Hub) -> int:
    """Ask for a drain of every account with pending shipments (coalesced: a queued or draining job
    absorbs it); how many jobs were queued."""
    with hub.db.session() as session:
        accounts = pending_account_ids(session)
    return len(request(hub, accounts))
