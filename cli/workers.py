"""`marketsync worker` and `marketsync jobs`."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import threading
from typing import TYPE_CHECKING

import click
from redis import Redis
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from cli.app import App, json_option, pass_app, print_json, print_table
from sync.hub.current import set_hub
from sync.hub.queues import QUEUE_NAMES, all_queues, worker_lanes
from sync.service.processes import SHUTDOWN_GRACE_S, worker_args
from sync.service.supervisor import Supervisor
from sync.service.workers import failure_reason, run_worker, serve_worker, spawn_workers, worker_environment

if TYPE_CHECKING:
    from sync.hub.context import Hub


@click.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--count", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes to run.")
@click.option("--queue", "queues", multiple=True, type=click.Choice(QUEUE_NAMES),
              help="Only these queues (default: all, in priority order).")
@pass_app
def worker(app: App, burst: bool, count: int, queues: tuple[str, ...]) -> None:
    """Run RQ workers on the queues stock > orders > catalog > default."""
    hub = app.ready_hub()
    if burst:
        if count == 1:
            run_worker(hub.redis, burst=True, queues=queues or QUEUE_NAMES,
                       job_timeout=hub.settings.workers.job_timeout_s)
            return
        processes = spawn_workers(count, worker_environment(hub.redis), burst=True)
        codes = [p.wait() for p in processes]
        if any(codes):
            raise click.ClickException(f"{sum(1 for c in codes if c)} of {count} workers exited with an error")
        return
    if count == 1:
        set_hub(hub)  # the jobs run on this hub, loaded before the worker registers
        importlib.import_module("sync.jobs")  # as every job's module: the first job must not pay for them
        hub.warm_up()
        serve_worker(lambda: hub.redis, queues=queues or QUEUE_NAMES, job_timeout=hub.settings.workers.job_timeout_s)
        return
    supervise(hub, count, queues)


def supervise(hub: Hub, count: int, queues: tuple[str, ...]) -> None:
    """`count` worker processes, each restarted with backoff when it dies, until SIGTERM or Ctrl-C."""
    env = worker_environment(hub.redis) if not hub.settings.redis.url else dict(os.environ)
    lanes = [queues] * count if queues else worker_lanes(count)
    supervisor = Supervisor(lambda slot: subprocess.Popen(worker_args(lanes[slot]), env=env, start_new_session=True),
                            count).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        supervisor.run(stop)
    finally:
        supervisor.stop(grace_s=SHUTDOWN_GRACE_S)


def _last_error(job: Job) -> str:
    result = job.latest_result()
    return failure_reason(result.exc_string if result is not None else None)


def _job_row(job: Job, state: str) -> dict[str, object]:
    return {"id": job.id, "queue": job.origin, "state": state, "function": job.func_name,
            "enqueued_at": job.enqueued_at.isoformat() if job.enqueued_at else None,
            "error": _last_error(job) if state == "failed" else None}


def _fetch(ids: list[str], connection: Redis) -> list[Job]:
    return [j for j in Job.fetch_many(ids, connection=connection, serializer=JSONSerializer) if j]


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def jobs(ctx: click.Context, as_json: bool) -> None:
    """Show queued, running and failed jobs."""
    if ctx.invoked_subcommand:
        return
    hub = ctx.ensure_object(App).ready_hub()
    rows: list[dict[str, object]] = []
    for q in all_queues(hub.redis):
        rows += [_job_row(j, "queued") for j in _fetch(q.job_ids, hub.redis)]
        rows += [_job_row(j, "running") for j in _fetch(StartedJobRegistry(queue=q).get_job_ids(), hub.redis)]
        rows += [_job_row(j, "failed") for j in _fetch(FailedJobRegistry(queue=q).get_job_ids(), hub.redis)]
    if as_json:
        print_json(rows)
        return
    print_table("jobs", ["id", "queue", "state", "function", "enqueued", "error"],
                ([r["id"], r["queue"], r["state"], r["function"], r["enqueued_at"], r["error"]] for r in rows))


@jobs.command("retry")
@click.argument("job_ids", nargs=-1)
@pass_app
def jobs_retry(app: App, job_ids: tuple[str, ...]) -> None:
    """Re-enqueue failed jobs (all of them, or the JOB_IDS given)."""
    hub = app.ready_hub()
    retried = 0
    for q in all_queues(hub.redis):
        registry = FailedJobRegistry(queue=q)
        for job_id in registry.get_job_ids():
            if not job_ids or job_id in job_ids:
                registry.requeue(job_id)
                retried += 1
    click.echo(f"re-enqueued {retried} failed job(s)")


commands = [worker, jobs]
