"""The periodic scheduler: order polls, reconciliation and the sweep, enqueued with unique ids.

Decision: rq 2.12 ships `rq.cron.CronScheduler`, but its `CronJob.enqueue` builds a `Queue`
with RQ's default (pickle) serializer and no job id, while the hub's workers use the JSON
serializer and every periodic job must be unique per account (a slow poll must not pile up
behind itself). So this is a small loop: every second it enqueues what is due with
`unique=True` and a stable id (`poll-orders-{account}`, `reconcile-{account}`, `sweep`;
RQ job ids allow only letters, digits, `_` and `-`).
Several schedulers may run at once: the unique ids keep the queues free of duplicates.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import select

from store import tables
from sync import propagation
from sync.context import Hub
from sync.pushing import clear_ended
from sync.queues import queue
from sync.runtime import current_hub

log = logging.getLogger(__name__)


def enqueue_unique(connection: redis.Redis, queue_name: str, function: str, args: tuple[Any, ...],
                   job_id: str, *, timeout: int | None = None) -> bool:
    """Enqueue once per id: a queued or running job with the id absorbs the request."""
    q = queue(queue_name, connection)
    options: dict[str, Any] = {"job_id": job_id, "unique": True, "result_ttl": 0}
    if timeout:
        options["job_timeout"] = timeout
    try:
        q.enqueue(function, *args, **options)
        return True
    except DuplicateJobError:
        pass
    try:
        old = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return False
    if old.get_status() in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        clear_ended(connection, job_id)  # an ended job kept for inspection must not block the next run
        try:
            q.enqueue(function, *args, **options)
            return True
        except DuplicateJobError:
            return False
    return False


def sweep_job() -> dict[str, Any]:
    """RQ job: every engine's sweep re-enqueues what the database says is pending."""
    # sync.orders and sync.shipments import enqueue_unique from this module: importing them here
    # at the top would be a cycle.
    from sync import orders, shipments

    hub = current_hub()
    return {"sync.propagation": propagation.sweep(hub), "sync.orders": orders.sweep(hub),
            "sync.shipments": shipments.sweep(hub)}


@dataclass
class Periodic:
    """One periodic task: `due(hub)` lists (queue, function, args, job id) to enqueue every `interval_s`."""

    name: str
    interval_s: float
    due: Callable[[Hub], list[tuple[str, str, tuple[Any, ...], str]]]
    next_at: float = 0.0


def _account_ids(hub: Hub) -> list[int]:
    with hub.db.session() as session:
        return list(session.scalars(select(tables.Account.id).where(tables.Account.enabled.is_(True))
                                    .order_by(tables.Account.id)))


def _order_polls(hub: Hub) -> list[tuple[str, str, tuple[Any, ...], str]]:
    return [("orders", "sync.orders.poll_orders_job", (a,), f"poll-orders-{a}") for a in _account_ids(hub)]


def _reconciles(hub: Hub) -> list[tuple[str, str, tuple[Any, ...], str]]:
    return [("default", "sync.reconcile.reconcile_job", (a,), f"reconcile-{a}") for a in _account_ids(hub)]


def _sweep(hub: Hub) -> list[tuple[str, str, tuple[Any, ...], str]]:
    return [("stock", "sync.scheduler.sweep_job", (), "sweep")]


def default_schedule(hub: Hub) -> list[Periodic]:
    s = hub.settings.sync
    return [Periodic("order polls", s.order_poll_interval_s, _order_polls),
            Periodic("sweep", s.sweep_interval_s, _sweep),
            Periodic("reconciliation", s.reconcile_interval_s, _reconciles)]


@dataclass
class Scheduler:
    hub: Hub
    schedule: list[Periodic] = field(default_factory=list)
    enqueued: int = 0

    def tick(self, now: float | None = None) -> int:
        """Enqueue everything due; returns how many jobs were enqueued."""
        now = time.monotonic() if now is None else now
        count = 0
        for task in self.schedule:
            if now < task.next_at:
                continue
            task.next_at = now + task.interval_s
            try:
                for queue_name, function, args, job_id in task.due(self.hub):
                    count += enqueue_unique(self.hub.redis, queue_name, function, args, job_id,
                                            timeout=self.hub.settings.workers.job_timeout_s)
            except Exception as exc:  # the database or Redis may blip: try again next interval
                log.warning("scheduler: %s could not be enqueued: %s", task.name, exc)
        self.enqueued += count
        return count

    def run(self, stop: threading.Event, *, tick_s: float = 1.0) -> None:
        """Tick until `stop` is set."""
        while not stop.is_set():
            self.tick()
            stop.wait(tick_s)


def build_scheduler(hub: Hub) -> Scheduler:
    return Scheduler(hub, default_schedule(hub))
