"""Worker liveness, and taking over the jobs of a worker that died (finding 1 of issue 15).

RQ leaves a job STARTED when its worker is killed (SIGKILL, OOM, a lost machine) until its own
maintenance abandons it, about ten minutes later; meanwhile the job's unique id absorbs every new
request for it (the account's polls, its pushes, the sweep). So every hub worker keeps a key
`marketsync:worker-alive:{name}` alive (refreshed each second, expiring after `ALIVE_TTL_S`), and
every few seconds looks at the STARTED jobs of its queues: one whose worker's key is gone is taken
over (put back on its queue, once, whoever notices first). Jobs are idempotent and the database
holds their work, so running one again is safe.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

log = logging.getLogger(__name__)

ALIVE_PREFIX = "marketsync:worker-alive:"
TAKEOVER_PREFIX = "marketsync:takeover:"
ALIVE_TTL_S = 6
BEAT_S = 1.0
SCAN_EVERY = 2  # beats between two looks at the STARTED jobs


def worker_alive(connection: redis.Redis, name: str) -> bool:
    return bool(connection.exists(ALIVE_PREFIX + name))


def take_over_orphans(connection: redis.Redis, queues: Sequence[Queue]) -> list[str]:
    """Put back on their queue the STARTED jobs whose worker is no longer alive; their ids."""
    taken: list[str] = []
    for queue in queues:
        registry = StartedJobRegistry(queue=queue)
        for job_id in registry.get_job_ids(cleanup=False):
            try:
                job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
            except NoSuchJobError:
                continue
            owner = job.worker_name
            if not owner or worker_alive(connection, owner):
                continue
            if not connection.set(TAKEOVER_PREFIX + job_id, owner, nx=True, ex=30):
                continue  # another worker is taking it over
            registry.remove_executions(job)
            queue.enqueue_job(job)
            taken.append(job_id)
            log.warning("job %s was left running by worker %s, which is gone; queued again", job_id, owner)
    return taken


class Heartbeat:
    """The liveness key of one worker, and its look-out for orphaned jobs, in a daemon thread."""

    def __init__(self, connection: redis.Redis, name: str, queues: Sequence[Queue]) -> None:
        self.connection, self.name, self.queues = connection, name, list(queues)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{name}", daemon=True)

    def start(self) -> Heartbeat:
        self.beat()
        self._thread.start()
        return self

    def beat(self) -> None:
        self.connection.set(ALIVE_PREFIX + self.name, "1", ex=ALIVE_TTL_S)

    def _run(self) -> None:
        count = 0
        while not self._stop.wait(BEAT_S):
            count += 1
            try:
                self.beat()
                if count % SCAN_EVERY == 0:
                    take_over_orphans(self.connection, self.queues)
            except redis.RedisError:
                continue  # Redis is away: the worker's own loop reports it and reconnects

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2 * BEAT_S)
        with contextlib.suppress(redis.RedisError):  # else the key expires by itself
            self.connection.delete(ALIVE_PREFIX + self.name)
