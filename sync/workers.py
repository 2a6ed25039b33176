"""Starting RQ workers on the hub's queues, in priority order, with the JSON serializer."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

import redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from sync.queues import QUEUE_NAMES, all_queues


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
    selected = [q for q in all_queues(connection) if q.name in queues]
    for q in selected:
        q._default_timeout = job_timeout
    worker = SimpleWorker(selected, connection=connection, serializer=JSONSerializer, name=name)
    return bool(worker.work(burst=burst, logging_level="WARNING", with_scheduler=False))


def spawn_workers(count: int, env: dict[str, str], *, burst: bool = False) -> list[subprocess.Popen[bytes]]:
    """Start `count` worker processes running `marketsync worker`."""
    args = [sys.executable, "-m", "cli.main", "worker", "--count", "1"] + (["--burst"] if burst else [])
    return [subprocess.Popen(args, env=env) for _ in range(count)]
