"""A worker lets go of its command channel at once when it stops (its exit never waits a minute)."""

from __future__ import annotations

import time

import redis

from sync.hub.queues import queue
from sync.service.workers import make_worker, run_worker


def test_a_stopping_worker_does_not_wait_for_its_command_listener(redis_client: redis.Redis) -> None:
    worker = make_worker(redis_client)
    worker.subscribe()
    assert worker.pubsub is not None
    worker.pubsub.unsubscribe()  # what RQ's teardown sends first
    time.sleep(0.5)  # the listener reads the reply and waits for a subscription again (RQ: for 60 s)
    started = time.monotonic()
    worker.unsubscribe()
    assert time.monotonic() - started < 5


def test_burst_workers_one_after_another_each_end_promptly(redis_client: redis.Redis) -> None:
    for round_ in range(8):
        queue("default", redis_client).enqueue("sync.jobs.ping", str(round_))
        started = time.monotonic()
        assert run_worker(redis_client, burst=True) is True
        assert time.monotonic() - started < 10, f"burst worker {round_} took {time.monotonic() - started:.1f} s"
