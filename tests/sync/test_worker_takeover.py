"""A job left STARTED by a worker killed with SIGKILL is taken over within seconds (finding 1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from sync.hub.context import Hub
from sync.hub.queues import enqueue_unique, job_status, queue
from sync.service.liveness import ALIVE_PREFIX, take_over_orphans


def once_slow_job(marker: str) -> str:
    """Slow the first time (the run that gets killed), quick when taken over."""
    path = Path(marker)
    if not path.exists():
        path.write_text("started")
        time.sleep(120)
    return "done"


def status(connection: redis.Redis, job_id: str) -> str | None:
    found = job_status(connection, job_id)  # None once it finished (result_ttl 0), even between fetch and read
    return None if found is None else found.value


def wait_for(predicate, within_s: float) -> float | None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def spawn_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_a_killed_workers_job_is_taken_over_within_seconds(hub: Hub, hub_env: dict[str, str], tmp_path: Path) -> None:
    env = {**os.environ, **hub_env}
    marker = tmp_path / "started"
    job_id = "poll-orders-77"  # a unique id, as the scheduler's polls and the sweep use
    assert enqueue_unique(hub.redis, "orders", "tests.sync.test_worker_takeover.once_slow_job", (str(marker),),
                          job_id)
    doomed = spawn_worker(env)
    survivor = None
    try:
        assert wait_for(marker.exists, 60) is not None, "the first worker never started the job"
        assert status(hub.redis, job_id) == "started"
        survivor = spawn_worker(env)
        assert wait_for(lambda: sum(1 for _ in hub.redis.scan_iter(match=ALIVE_PREFIX + "*")) == 2, 60) is not None
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        killed_at = time.monotonic()
        # A request for the same id while the dead worker still "holds" it is absorbed ...
        assert not enqueue_unique(hub.redis, "orders", "tests.sync.test_worker_takeover.once_slow_job",
                                  (str(marker),), job_id)
        taken = wait_for(lambda: status(hub.redis, job_id) != "started", 60)
        assert taken is not None, "the dead worker's job was never taken over"
        # ... and only for seconds: the dead worker's alive key lasts 6 s, a survivor looks every 2 s.
        assert time.monotonic() - killed_at < 10
        assert wait_for(lambda: status(hub.redis, job_id) is None, 30) is not None  # run to its end
        assert not hub.redis.exists(ALIVE_PREFIX + "nobody")
    finally:
        for process in (doomed, survivor):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


def test_a_live_workers_job_is_left_alone(hub: Hub, redis_client: redis.Redis) -> None:
    q = queue("orders", hub.redis)
    job = q.enqueue("sync.jobs.ping", job_id="poll-orders-5")
    job.worker_name = "alive-worker"
    job.save()
    hub.redis.zadd(q.started_job_registry.key, {f"{job.id}:exec1": time.time() + 600})
    hub.redis.set(ALIVE_PREFIX + "alive-worker", "1", ex=30)
    assert take_over_orphans(hub.redis, [q]) == []
    hub.redis.delete(ALIVE_PREFIX + "alive-worker")
    assert take_over_orphans(hub.redis, [q]) == ["poll-orders-5"]
    assert take_over_orphans(hub.redis, [q]) == []  # taken over once
