"""Failed jobs say why in words an operator can act on (finding 11 of issue 15); expected failures
are one log line, not a traceback."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import redis
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from connectors.errors import Transient
from sync.hub.context import Hub
from sync.hub.queues import queue
from sync.service.workers import failure_reason, make_worker

URL: dict[str, str] = {}


def flush_redis_job() -> str:
    """A job during which Redis is flushed (what FLUSHDB does to a running job)."""
    redis.Redis.from_url(URL["redis"]).flushdb()
    return "done"


def platform_refuses_job() -> str:
    raise Transient("woocommerce account 'woo', orders", "the platform did not answer in time")


def failed(connection: redis.Redis) -> list[Job]:
    ids = FailedJobRegistry(queue=queue("default", connection)).get_job_ids()
    return [j for j in Job.fetch_many(ids, connection=connection, serializer=JSONSerializer) if j]


def test_a_job_finishing_after_flushdb_is_not_left_failed(hub: Hub, redis_server_url: str) -> None:
    URL["redis"] = redis_server_url
    queue("default", hub.redis).enqueue("tests.sync.test_job_failures.flush_redis_job", result_ttl=0)  # as the hub does
    make_worker(hub.redis).work(burst=True, logging_level="WARNING")
    assert failed(hub.redis) == []


def test_an_expected_failure_is_one_line_and_jobs_explains_it(hub: Hub, cli: Any,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    queue("default", hub.redis).enqueue("tests.sync.test_job_failures.platform_refuses_job")
    make_worker(hub.redis).work(burst=True, logging_level="WARNING")
    [job] = failed(hub.redis)
    assert not any("Traceback" in record.getMessage() or record.exc_info for record in caplog.records)
    assert any("the platform did not answer in time" in record.getMessage() for record in caplog.records)
    rows = json.loads(cli("jobs", "--json").output)
    [row] = [r for r in rows if r["id"] == job.id]
    assert row["state"] == "failed"
    assert row["error"].endswith("woocommerce account 'woo', orders: the platform did not answer in time")


@pytest.mark.parametrize(("recorded", "expected"), [
    ("Traceback...\nrq.exceptions.InvalidJobOperation: Failed to retrieve status for job: push-stock-3",
     "Redis lost the job's record"),
    ("Moved to FailedJobRegistry, due to AbandonedJobError, at 2026-12-01 10:00:00", "the worker running it stopped"),
    ("Traceback...\nrq.timeouts.JobTimeoutException: Task exceeded maximum timeout value (600 seconds)",
     "workers.job_timeout_s"),
    ("", "no reason was recorded"),
    (None, "no reason was recorded"),
])
def test_rq_internal_reasons_become_operator_words(recorded: str | None, expected: str) -> None:
    reason = failure_reason(recorded)
    assert expected in reason and "\n" not in reason
    assert "retrieve status" not in reason and "FailedJobRegistry" not in reason


class _Deadlock(Exception):
    sqlstate = "40P01"  # what psycopg reports for "deadlock detected"


MARKERS: dict[str, str] = {}


def deadlocked_once_job() -> str:
    from pathlib import Path

    from sqlalchemy.exc import OperationalError

    marker = Path(MARKERS["path"])
    if not marker.exists():
        marker.write_text("lost once")
        raise OperationalError("UPDATE listings …", {}, _Deadlock("deadlock detected"))
    return "done"


def test_a_deadlock_victim_runs_again_and_is_not_left_failed(hub: Hub, tmp_path: Any,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    MARKERS["path"] = str(tmp_path / "marker")
    job = queue("default", hub.redis).enqueue("tests.sync.test_job_failures.deadlocked_once_job", result_ttl=600)
    make_worker(hub.redis).work(burst=True, logging_level="WARNING")
    assert failed(hub.redis) == []
    assert Job.fetch(job.id, connection=hub.redis, serializer=JSONSerializer).get_status().value == "finished"
    assert any("deadlock" in r.getMessage() and "again" in r.getMessage() for r in caplog.records)
    assert not any(r.exc_info for r in caplog.records)
