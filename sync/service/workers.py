"""Starting RQ workers on the hub's queues, in priority order, with the JSON serializer."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis
from rq import Queue, SimpleWorker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy.exc import DBAPIError

from canonical.errors import MarketsyncError
from connectors.waits import stop_waiting
from store.db import transaction_conflict
from sync.hub.queues import (
    QUEUE_NAMES,
    REALTIME_QUEUES,
    TURN_S,
    RedisUnavailable,
    all_queues,
    requeue_due_retries,
    turn_yielded,
)
from sync.service.liveness import Heartbeat

log = logging.getLogger(__name__)


def worker_environment(redis_client: redis.Redis, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for worker subprocesses: an embedded Redis is reached through its socket."""
    env = dict(base if base is not None else os.environ)
    socket_file = getattr(redis_client, "socket_file", None)
    if socket_file:
        env["MARKETSYNC_REDIS__URL"] = f"unix://{socket_file}"
    return env


def run_worker(connection: redis.Redis, *, burst: bool = False, name: str | None = None,
               queues: Sequence[str] = QUEUE_NAMES, job_timeout: int = 600) -> bool:
    """Run one worker in this process until stopped (or, with burst, until the queues are empty).

    Jobs run in the worker process itself (no fork per job): the process keeps its hub, its
    database pool and its Redis connection, which is what makes a job cost milliseconds. Jobs
    are idempotent and the database holds their state, so a worker that dies loses nothing.
    """
    worker = make_worker(connection, queues=queues, job_timeout=job_timeout, name=name)
    # RQ's scheduler (one per Redis, by lock) requeues jobs that returned `Retry` once their wait
    # is over; a burst worker requeues those already due when it starts.
    return bool(worker.work(burst=burst, logging_level="WARNING", with_scheduler=True))


COMMANDS_POLL_S = 0.25  # how long the command listener waits at a time: the longest a worker's exit waits for it
RECONNECT_FIRST_S = 0.5
RECONNECT_MAX_S = 10.0


class RedisOutageFilter(logging.Filter):
    """RQ logs a lost Redis connection with a full traceback ("found an unhandled exception,
    quitting"); the worker rides the outage out, so it becomes one line with the error's name."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, redis.ConnectionError | redis.TimeoutError):
            record.msg = f"{record.getMessage()} (Redis unreachable: {type(error).__name__}); reconnecting"
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


def serve_worker(connect: Callable[[], redis.Redis], *, queues: Sequence[str] = QUEUE_NAMES,
                 job_timeout: int = 600, stop: threading.Event | None = None) -> None:
    """Run one worker until it is asked to stop (SIGTERM, SIGINT), riding out Redis outages.

    Redis down at start, lost mid-job or restarted empty: the worker waits (0.5 s doubling up to
    10 s, one line per attempt) and starts again on a fresh connection. Nothing is lost meanwhile:
    the database holds every job's work, and the sweep re-enqueues what it says is pending.
    """
    logging.getLogger("rq.worker").addFilter(RedisOutageFilter())
    done = stop or threading.Event()
    threading.Thread(target=_requeue_retries, args=(connect, done), name="requeue-retries", daemon=True).start()
    wait = RECONNECT_FIRST_S
    while stop is None or not stop.is_set():
        try:
            connection = connect()
            connection.ping()
        except (redis.RedisError, RedisUnavailable) as exc:
            log.warning("worker: Redis is unreachable (%s); trying again in %.1f s", type(exc).__name__, wait)
            time.sleep(wait)
            wait = min(wait * 2, RECONNECT_MAX_S)
            continue
        wait = RECONNECT_FIRST_S
        worker = make_worker(connection, queues=queues, job_timeout=job_timeout)
        try:
            # RQ's scheduler child would die with a traceback on every Redis restart: due retries are
            # requeued by the hub's scheduler instead (`sync.hub.queues.requeue_due_retries`).
            worker.work(burst=False, logging_level="WARNING", with_scheduler=False)
        except (redis.ConnectionError, redis.TimeoutError) as exc:  # lost while registering or tearing down
            log.warning("worker %s: Redis went away (%s); starting again", worker.name, type(exc).__name__)
        if worker.stop_signalled:
            return
        log.warning("worker %s stopped on a Redis error; starting again", worker.name)
        time.sleep(RECONNECT_FIRST_S)


def _requeue_retries(connect: Callable[[], redis.Redis], stop: threading.Event) -> None:
    """Every second, put jobs whose `Retry` wait is over back on their queues (RQ's own scheduler is
    a forked child that dies on a Redis restart; this thread rides outages out like the worker)."""
    connection: redis.Redis | None = None
    while not stop.wait(1.0):
        try:
            connection = connection or connect()
            requeue_due_retries(connection)
        except (redis.RedisError, RedisUnavailable, OSError):
            connection = None  # Redis is away: the worker loop says so; try again next second


DEADLOCK_RETRIES = 3
# The server ended the connection (pg_terminate_backend, a restart, a crash) or it broke.
LOST_CONNECTION_SQLSTATES = {"57P01", "57P02", "57P03", "08000", "08003", "08006"}


def expected_failure(error: BaseException | None) -> bool:
    """A failure the hub expects and names itself (a platform refusing, an outage of Redis or the
    database): one log line, not a traceback. Anything else is a bug and keeps its traceback."""
    if isinstance(error, MarketsyncError | redis.ConnectionError | redis.TimeoutError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    return bool(error.connection_invalidated) or getattr(error.orig, "sqlstate", None) in LOST_CONNECTION_SQLSTATES


class HubWorker(SimpleWorker):
    """RQ's in-process worker, adapted to a hub whose truth is the database.

    It remembers it was asked to stop (RQ forgets when it was idle), and cuts short the current job's
    waits for rate points and backoffs (`connectors.waits`: the job is put back); it logs a job's expected
    failure in one line (the failed job keeps the whole text for `marketsync jobs`); and a job that
    finished after Redis lost its record (FLUSHDB, a restart) is not turned into a failure with
    RQ's "Failed to retrieve status": its work is in the database, there is nothing to record.
    Every job runs under `workers.job_timeout_s` unless it was enqueued with a timeout of its own.
    Its heartbeat lets the other workers take over its job within seconds if it dies.
    """

    stop_signalled = False
    job_timeout: int | None = None  # `workers.job_timeout_s`, for jobs enqueued without a timeout of their own
    _turn: str | None = None  # the realtime queue whose turn it is (see `reorder_queues`)
    _turn_spent = 0.0

    def perform_job(self, job: Job, queue: Queue) -> bool:
        # RQ stamps its default (180 s) on a job enqueued without a timeout; the hub never asks for
        # exactly that, so it means "none chosen": the job gets `workers.job_timeout_s`.
        if job.timeout in (None, Queue.DEFAULT_TIMEOUT) and self.job_timeout:
            job.timeout = self.job_timeout
        started = time.monotonic()
        try:
            return bool(super().perform_job(job, queue))
        finally:
            self._ran(queue.name, time.monotonic() - started)

    def reorder_queues(self, reference_queue: Queue) -> None:
        """RQ calls this after each dequeue. The realtime queues take turns (`sync.hub.queues.TURN_S`):
        the queue a job came from goes first among them until its jobs have run `TURN_S` or one
        yielded, then it goes last; the others (catalogue, default) keep their places, behind.
        RQ's strict order starved every queue behind one that is never empty (the short chaos run:
        no stock push, order poll or order read ran during the load)."""
        if reference_queue.name in REALTIME_QUEUES and reference_queue.name != self._turn:
            self._turn, self._turn_spent = reference_queue.name, 0.0
            self._rotate(reference_queue.name, past=False)

    def _ran(self, name: str, seconds: float) -> None:
        yielded = turn_yielded()
        if name != self._turn:
            return
        self._turn_spent += seconds
        if yielded or self._turn_spent >= TURN_S:
            self._rotate(name, past=True)
            self._turn = None

    def _rotate(self, name: str, *, past: bool) -> None:
        """Realtime queues in turn order from `name` (or from the one after it, `past`), in the
        places the realtime queues hold among the worker's queues."""
        fair = [q for q in self._ordered_queues if q.name in REALTIME_QUEUES]
        at = next((i for i, q in enumerate(fair) if q.name == name), None)
        if at is None:
            return
        at += 1 if past else 0
        turns = iter(fair[at:] + fair[:at])
        self._ordered_queues = [next(turns) if q.name in REALTIME_QUEUES else q for q in self._ordered_queues]

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.stop_signalled = True
        stop_waiting()  # a job waiting for rate points or backing off ends now and is put back
        super().request_stop(signum, frame)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        """RQ's work loop, with this worker's liveness key kept alive (see `sync.service.liveness`)."""
        heartbeat = Heartbeat(self.connection, self.name, self.queues).start()
        try:
            return bool(super().work(*args, **kwargs))
        finally:
            heartbeat.stop()

    def subscribe(self) -> None:
        """RQ's command channel (stop the worker, kill its job), read by a thread that waits for a
        message `COMMANDS_POLL_S` at a time. RQ has it wait 60 s; redis-py 8.2's `stop()` waits for
        the thread to end, so every worker's exit (burst workers after CLI commands, `run` stopping)
        took up to a minute whenever the thread had begun a wait: 60.0 s in about 20 tests a run."""
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(sleep_time=COMMANDS_POLL_S, daemon=True,
                                                       exception_handler=self._pubsub_exception_handler)  # type: ignore[assignment]

    _conflicted: str | None = None

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        error = exc_info[1] if len(exc_info) > 1 else None
        if transaction_conflict(error) and int(job.meta.get("conflict_retries", 0)) < DEADLOCK_RETRIES:
            self._conflicted = job.id
            self.log.warning("job %s lost a database deadlock to another job; running it again", job.id)
            return
        if not expected_failure(error):
            super().handle_exception(job, *exc_info)
            return
        message = str(error).strip().splitlines()[0][:500] if str(error).strip() else ""
        self.log.warning("job %s failed: %s: %s", job.id, type(error).__name__, message)

    def _pubsub_exception_handler(self, exc: Exception, pubsub: Any, pubsub_thread: Any) -> None:
        # RQ's command listener dies with a traceback when its connection is closed under it (Redis
        # restarted, the worker starting again): one line, and the thread stops; a new worker has its own.
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError | ValueError | OSError):
            self.log.warning("worker %s: its command listener lost Redis (%s)", self.name, type(exc).__name__)
            pubsub_thread.stop()
            return
        super()._pubsub_exception_handler(exc, pubsub, pubsub_thread)

    def handle_job_failure(self, job: Job, queue: Queue, started_job_registry: Any = None,
                           exc_string: str = "") -> None:
        super().handle_job_failure(job, queue, started_job_registry=started_job_registry, exc_string=exc_string)
        if self._conflicted != job.id:
            return
        # A deadlock victim's transaction was rolled back whole; jobs are idempotent: run it again soon.
        self._conflicted = None
        job.meta["conflict_retries"] = int(job.meta.get("conflict_retries", 0)) + 1
        job.save_meta()
        time.sleep(random.uniform(0.05, 0.3))
        with contextlib.suppress(NoSuchJobError, InvalidJobOperation):
            queue.failed_job_registry.requeue(job.id)

    def handle_job_success(self, job: Job, queue: Queue, started_job_registry: StartedJobRegistry) -> None:
        try:
            super().handle_job_success(job, queue, started_job_registry)
        except (InvalidJobOperation, NoSuchJobError):
            self.log.warning("job %s finished after Redis lost its record (flushed or restarted); its work is in "
                             "the database, nothing else to record", job.id)


def make_worker(connection: redis.Redis, *, queues: Sequence[str] = QUEUE_NAMES, job_timeout: int = 600,
                name: str | None = None) -> HubWorker:
    # in the order given: a lane may take the orders queue before the stock queue (`worker_lanes`)
    by_name = {q.name: q for q in all_queues(connection)}
    selected = [by_name[name] for name in dict.fromkeys(queues) if name in by_name]
    worker = HubWorker(selected, connection=connection, serializer=JSONSerializer, name=name)
    worker.job_timeout = job_timeout
    return worker


def spawn_workers(count: int, env: dict[str, str], *, burst: bool = False) -> list[subprocess.Popen[bytes]]:
    """Start `count` worker processes running `marketsync worker`."""
    args = [sys.executable, "-m", "cli.main", "worker", "--count", "1"] + (["--burst"] if burst else [])
    return [subprocess.Popen(args, env=env) for _ in range(count)]


# RQ's own words for a job it failed itself, and what they mean to an operator.
RQ_REASONS = (
    ("AbandonedJobError", "the worker running it stopped (killed, or cut off from Redis) before it finished; "
                          "its work is in the database and the sweep starts it again, so `marketsync jobs retry` "
                          "is safe"),
    ("Failed to retrieve status", "Redis lost the job's record while it ran (FLUSHDB or a restart of Redis); its "
                                  "work is in the database and the sweep starts it again"),
    ("NoSuchJobError", "Redis lost the job's record while it ran (FLUSHDB or a restart of Redis); its work is in "
                       "the database and the sweep starts it again"),
    ("JobTimeoutException", "it ran longer than workers.job_timeout_s and was stopped; raise the setting or look "
                            "at what the job waits for (an unreachable channel, a long import)"),
)


def failure_reason(exc_string: str | None) -> str:
    """One line an operator can act on for a failed job's recorded exception text."""
    text = (exc_string or "").strip()
    if not text:
        return "no reason was recorded (Redis lost the job's record); its work is in the database and the sweep " \
               "starts it again, so `marketsync jobs retry` is safe"
    for marker, reason in RQ_REASONS:
        if marker in text:
            return reason
    return text.splitlines()[-1][:500]

