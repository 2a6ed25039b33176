"""Every job honours `workers.job_timeout_s`, also those enqueued without a timeout of their own
(finding 8 of issue 15: event, push and shipment jobs ran under RQ's default 180 s)."""

from __future__ import annotations

import time

import redis
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from sync.hub.queues import queue
from sync.service.workers import failure_reason, make_worker


def slow_job(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def outcome(connection: redis.Redis, job_timeout: int, sleep_s: float) -> str | None:
    job = queue("default", connection).enqueue("tests.sync.test_job_timeout.slow_job", sleep_s, result_ttl=600)
    assert job.timeout == 180  # enqueued like the hub's event, push and shipment jobs: RQ's default
    make_worker(connection, job_timeout=job_timeout).work(burst=True, logging_level="ERROR")
    fetched = Job.fetch(job.id, connection=connection, serializer=JSONSerializer)
    return fetched.get_status()


def test_a_job_without_its_own_timeout_gets_the_configured_one(redis_client: redis.Redis) -> None:
    assert outcome(redis_client, job_timeout=1, sleep_s=3) == "failed"
    [failed_id] = FailedJobRegistry(queue=queue("default", redis_client)).get_job_ids()
    result = Job.fetch(failed_id, connection=redis_client, serializer=JSONSerializer).latest_result()
    assert result is not None and "workers.job_timeout_s" in failure_reason(result.exc_string)


def test_a_longer_configured_timeout_lets_the_job_finish(redis_client: redis.Redis) -> None:
    assert outcome(redis_client, job_timeout=10, sleep_s=1.5) == "finished"
