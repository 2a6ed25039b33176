"""Every RQ entry point, the only place that builds the per-process hub, and the error policy.

Jobs take ids and small JSON-safe arguments; they find settings in the environment the
worker was started with (`MARKETSYNC_CONFIG`, `MARKETSYNC_HOME`, `MARKETSYNC_<SECTION>__<KEY>`).
Each entry point is one call into the engine below it with the hub built here; nothing under
`sync/` reaches for a process-global hub. Enqueueing code names these functions by their dotted
path (`sync.jobs.push_stock`), so this module sits on top of every layer and nothing imports it
but the CLI and the demo (which set the hub they already built).

What happens when a job fails is decided here, by the class of the error (`connectors.errors`):

- `Transient` → the job returns RQ's own `Retry`, waiting `workers.retry_intervals_s[n]` before
  retry n (RQ's scheduler, run by the workers, requeues it); once they are used up the job fails.
- `RateLimited` → the same, but waiting what the platform asked for (`retry_after`).
- `AuthFailed` → the account is marked failing (`sync.hub.failing`): an `account_failing` conflict,
  shown by `marketsync status`; its jobs stop (they end at once) until a probe or `account test`
  finds it working again.
- `Rejected` → never retried; recorded with the platform's reason (the event, the shipment, or a
  sync run of the account).
- `Interrupted` (the worker is stopping and cut a wait short) → the job is queued again at once,
  nothing recorded: the next worker runs it.
- `Deferred` (a wait past the job's patience, `connectors.waits.patience`) → the job is handed back
  to its queue for after the wait, nothing recorded; its worker takes other work meanwhile.

A job put back or handed back keeps its retries: `retry_for` counts only the retries of failures.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from typing import Any, TypeVar

from rq import get_current_job
from rq.job import Retry

from canonical.errors import one_line
from connectors.errors import AuthFailed, Deferred, Interrupted, Rejected, Transient
from connectors.waits import patience
from store import tables
from store.types import utcnow
from sync.alerts import delivery as alert_delivery
from sync.alerts import service as alerts
from sync.catalog import importing
from sync.catalog import push as listings_push
from sync.hub import accounts, failing
from sync.hub.context import Hub
from sync.hub.current import current_hub as current_hub  # the process's hub, kept in sync.hub.current
from sync.hub.current import set_hub as set_hub
from sync.orders import drain, events, polling, pulled, reads, shipment_queue
from sync.planning import service as planning
from sync.service import scheduler
from sync.stock import confirm, push, push_queue, readback, reconcile

log = logging.getLogger(__name__)
T = TypeVar("T")
Failure = Callable[[Hub, Exception], None]

def ping(value: str = "pong") -> str:
    """A trivial job: proves a worker can import and run hub jobs."""
    return value


# ---- the error policy ----------------------------------------------------------------------------
def retry_for(hub: Hub, error: Transient) -> Retry | None:
    """RQ's `Retry` for the current job's next attempt, or None once the retries are used up."""
    intervals = hub.settings.workers.retry_intervals_s
    job = get_current_job()
    done = _failed_attempts(job) if job is not None else len(intervals)
    if done >= len(intervals):
        return None
    wait = intervals[done]
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:  # RateLimited: the platform's own wait
        wait = max(math.ceil(retry_after), 0)
    put_backs = int(job.meta.get(PUT_BACK, 0)) if job is not None else 0
    return Retry(max=len(intervals) + put_backs, interval=wait)


PUT_BACK = "put_back"  # job.meta: how many of the job's RQ retries were put-backs, not failures


def _failed_attempts(job: Any) -> int:
    return max((job.number_of_retries or 0) - int(job.meta.get(PUT_BACK, 0)), 0)


def put_back(delay_s: float = 0.0) -> Retry:
    """RQ's `Retry` that queues the current job again, at once (its worker is stopping) or after
    `delay_s` (handed back, `Deferred`); not counted against the retries of its failures."""
    job = get_current_job()
    done = (job.number_of_retries or 0) if job is not None else 0
    if job is not None:
        job.meta[PUT_BACK] = int(job.meta.get(PUT_BACK, 0)) + 1
        job.save_meta()
    return Retry(max=done + 1, interval=max(math.ceil(delay_s), 1) if delay_s > 0 else 0)


def guarded(account_id: int | None, work: Callable[[Hub], T], *, rejected: Failure | None = None,
            retrying: Failure | None = None, failed: Failure | None = None,
            checks_account: bool = False) -> T | Retry | dict[str, Any]:
    """Run `work` with the hub under the error policy (module docstring). The callbacks record what
    the job was about: `rejected` (no retry), `retrying` (a retry is scheduled), `failed` (retries
    used up, or an error outside the tree; the job then fails in RQ). `checks_account`: `work` ends
    at once itself for a failing account, reading it where it reads it anyway (the drain and the push
    of every sale: a transaction of their own was two statements of each job, issue 16)."""
    hub = current_hub()
    if account_id is not None and not checks_account and failing.is_failing(hub, account_id):
        return {"skipped": "the account is failing; see `marketsync status`", "account_id": account_id}
    try:
        return work(hub)
    except AuthFailed as exc:
        if account_id is None:
            raise
        failing.mark_failing(hub, account_id, exc)
        log.warning("account %s is failing, its jobs stop: %s", account_id, one_line(exc))
        return {"failing": account_id, "error": one_line(exc)}
    except Rejected as exc:
        log.warning("refused by the platform, not retried: %s", one_line(exc))
        if rejected is not None:
            rejected(hub, exc)
        return {"rejected": exc.reason}
    except Deferred as exc:
        log.info("job handed back for %.1f s: %s", exc.retry_after, one_line(exc))
        return put_back(exc.retry_after)
    except Interrupted as exc:
        log.info("job put back, its worker is stopping: %s", one_line(exc))
        return put_back()
    except Transient as exc:
        retry = retry_for(hub, exc)
        if retry is None:
            if failed is not None:
                failed(hub, exc)
            raise
        if retrying is not None:
            retrying(hub, exc)
        return retry
    except Exception as exc:
        if failed is not None:
            failed(hub, exc)
        raise


def _account_run(kind: str, account_id: int) -> Failure:
    """A recorder of a refusal as a sync run of the account (`kind`, status `rejected`, the reason)."""
    def record(hub: Hub, error: Exception) -> None:
        with hub.db.session() as session:
            session.add(tables.SyncRun(kind=kind, account_id=account_id, status="rejected", counts={},
                                       finished_at=utcnow(), error=one_line(error)))
    return record


def probe_account(account_id: int) -> dict[str, Any]:
    """A failing account's health check: when it answers, the mark clears and its stock is pushed."""
    hub = current_hub()
    result = accounts.probe(hub, account_id)
    if result.get("cleared"):
        push_queue.schedule_pushes(hub, [account_id])
        shipment_queue.resume_account(hub, account_id)
        drain.resume_account(hub, account_id)
    return result


# ---- stock ---------------------------------------------------------------------------------------
def push_stock(account_id: int) -> Any:
    """Push the account's pending stock until nothing is left (`sync.stock.push`)."""
    return guarded(account_id, lambda hub: push.push_stock(hub, account_id),
                   rejected=_account_run("push", account_id), checks_account=True)


def reconcile_account(account_id: int) -> Any:
    """Reconcile one account's live channel quantities with the hub (`sync.stock.reconcile`)."""
    return guarded(account_id, lambda hub: reconcile.reconcile_account(hub, account_id))


def check_stale(account_id: int) -> Any:
    """Settle stale reads and undecided deltas from fresh reads of the channel (`sync.stock.readback`)."""
    return guarded(account_id, lambda hub: readback.check_stale(hub, account_id),
                   rejected=_account_run("stale_check", account_id))


def confirm_stock_writes(account_id: int) -> dict[str, Any]:
    """Ask the platform about the account's submitted stock writes (`sync.stock.confirm`); push again
    what a settled write leaves pending."""
    hub = current_hub()
    report = confirm.confirm_account(hub, account_id)
    if report.applied or report.rejected:
        push_queue.schedule_pushes(hub, [account_id])
    return report.as_dict()


# ---- orders --------------------------------------------------------------------------------------
def read_events(account_id: int) -> Any:
    """Read the orders of the account's handed webhook events (`sync.orders.reads`). A wait for the
    account's rate points past `events.READ_PATIENCE_S` hands the job back to the `reads` queue
    instead of holding its worker (a throttled marketplace's pause lasts up to a minute)."""
    job = get_current_job()
    run = reads.ReadRun(account_id, holder=job.id if job is not None else f"reads-{os.getpid()}",
                        last=job.meta.get(reads.READ_LAST) if job is not None else None)

    def give_up(hub: Hub, error: Exception) -> None:
        reads.give_up(hub, run, error)

    def retrying(hub: Hub, error: Exception) -> None:
        # the order that failed is read after the others next time, and this job stays the
        # account's queued one until then (requests meanwhile queue no other)
        if job is not None:
            job.meta[reads.READ_LAST] = run.reference
            job.save_meta()
            reads.READS.stay_queued(hub.redis, account_id, job.id, max(hub.settings.workers.retry_intervals_s))

    def work(hub: Hub) -> dict[str, Any]:
        with patience(events.READ_PATIENCE_S):
            return reads.read_events(hub, run)

    return guarded(account_id, work, rejected=give_up, retrying=retrying, failed=give_up)


def process_event(event_id: int) -> Any:
    """A job queued before reads were per account (one per event): ask for its account's read job."""
    hub = current_hub()
    account_id = events.event_account_id(hub, event_id)
    return {"requested": account_id is not None and reads.request_reads(hub, account_id)}


def drain_events(account_id: int) -> Any:
    """Ingest the account's stored webhook events, a chunk per transaction (`sync.orders.drain`)."""
    job = get_current_job()
    holder = job.id if job is not None else f"drain-{os.getpid()}"
    return guarded(account_id, lambda hub: drain.drain_events(hub, account_id, holder), checks_account=True)


def pull_events(account_id: int) -> Any:
    """Drain the account's message queue into stored events (`sync.orders.pulled`)."""
    return guarded(account_id, lambda hub: pulled.pull_events(hub, account_id),
                   rejected=_account_run("event_pull", account_id))


def poll_orders(account_id: int) -> Any:
    """Poll one account's orders from its cursor (`sync.orders.polling`)."""
    return guarded(account_id, lambda hub: polling.poll_orders(hub, account_id),
                   rejected=_account_run("order_poll", account_id))


def push_shipments(account_id: int) -> Any:
    """Push the account's pending shipments, each once (`sync.orders.shipment_queue`): a refusal or
    a transient failure is the shipment's and the drain's to record; an auth failure marks the account."""
    def work(hub: Hub) -> dict[str, Any]:
        with patience(shipment_queue.PATIENCE_S):  # a throttled shop's waits free the worker
            return shipment_queue.push_shipments(hub, account_id)

    return guarded(account_id, work)


def push_shipment(shipment_id: int) -> Any:
    """A job queued before shipments were drained per account: ask for its account's drain."""
    return {"requested": shipment_queue.enqueue_push(current_hub(), shipment_id)}


# ---- catalogue -----------------------------------------------------------------------------------
def import_catalog(account_id: int) -> Any:
    """Import the catalogue from an account (catalog queue)."""
    return guarded(account_id, lambda hub: importing.run_recorded(
        hub, "catalog_import", account_id, lambda hub, name: importing.import_catalog(hub, name)))


def refresh_listings(account_id: int) -> Any:
    """Refresh an account's listings (catalog queue)."""
    return guarded(account_id, lambda hub: importing.run_recorded(
        hub, "listing_refresh", account_id, lambda hub, name: importing.refresh_listings(hub, name)))


def push_listings(account_id: int, skus: list[str] | None = None) -> Any:
    """Push listings of one account, only `skus` when given (catalog queue)."""
    return guarded(account_id, lambda hub: listings_push.push_account_listings(hub, account_id, skus))


# ---- periodic ------------------------------------------------------------------------------------
def sweep() -> dict[str, Any]:
    """Every engine's sweep re-enqueues what the database says is pending."""
    return scheduler.sweep(current_hub())


def refresh_planning() -> dict[str, Any]:
    """The periodic planning refresh."""
    return planning.refresh(current_hub())


def evaluate_alerts() -> dict[str, Any]:
    """The periodic alerts evaluation (`alerts.evaluate_interval_s`)."""
    return alerts.evaluate(current_hub())


def deliver_alerts() -> dict[str, int]:
    """Send the alert deliveries that are due (retries included)."""
    return alert_delivery.deliver_pending(current_hub())
