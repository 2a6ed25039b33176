"""Starting and stopping the hub's long-running pieces: worker processes and the webhook server.

`marketsync run` and `marketsync demo` both use these, so the demo runs exactly what a
merchant runs.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from canonical.errors import MarketsyncError
from sync.hub.context import Hub
from sync.hub.queues import worker_lanes
from sync.service.supervisor import Supervisor
from sync.service.workers import worker_environment

SHUTDOWN_GRACE_S = 20.0


def webhook_path(platform: str, account: str) -> str:
    return f"/webhooks/{platform}/{account}"


def webhook_url(base: str, platform: str, account: str) -> str:
    """The delivery URL for an account: `base` is the public URL of `marketsync serve`
    (a URL already ending in the account's path is used as is)."""
    path = webhook_path(platform, account)
    base = base.rstrip("/")
    return base if base.endswith(path) else base + path


def worker_args(queues: Sequence[str]) -> list[str]:
    """The command line of one `marketsync worker` process on `queues`."""
    return [sys.executable, "-m", "cli.main", "worker", "--count", "1", *(f"--queue={q}" for q in queues)]


def start_workers(hub: Hub, count: int, *, base_env: Mapping[str, str] | None = None) -> list[subprocess.Popen[bytes]]:
    """Worker processes in their own session, on their lanes (`worker_lanes`): a terminal's Ctrl-C
    reaches only the parent, which forwards one SIGTERM each (RQ's warm shutdown: the job finishes)."""
    env = worker_environment(hub.redis, dict(base_env) if base_env is not None else None)
    return [subprocess.Popen(worker_args(lane), env=env, start_new_session=True) for lane in worker_lanes(count)]


def supervised_workers(hub: Hub, count: int, *, base_env: Mapping[str, str] | None = None) -> Supervisor:
    """`count` worker processes (as `start_workers`) kept running by a `Supervisor`: restarted with backoff."""
    env = worker_environment(hub.redis, dict(base_env) if base_env is not None else None)
    lanes = worker_lanes(count)
    return Supervisor(lambda slot: subprocess.Popen(worker_args(lanes[slot]), env=env, start_new_session=True),
                      count).start()


def stop_workers(processes: list[subprocess.Popen[bytes]], grace_s: float = SHUTDOWN_GRACE_S) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s  # one grace period for all, not one each
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class PortInUse(MarketsyncError):
    """The webhook server cannot listen where it was asked to."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), or PortInUse in one line: a server must fail at start, never run
    without the webhooks it announces."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"cannot listen for webhooks on {host}:{port} ({exc.strerror or exc}); stop what uses "
                        "the port, or choose another with webhooks.port / MARKETSYNC_WEBHOOKS__PORT") from None
    return sock


def start_webserver(hub: Hub, *, host: str | None = None, port: int | None = None) -> tuple[Any, threading.Thread]:
    """The webhook server (`sync.service.webserver.build_app`) served by uvicorn in a thread; its port
    is bound before this returns (PortInUse when it cannot be)."""
    import uvicorn  # imported when used: it adds a fifth of a second to every CLI command

    from sync.service.httpserver import server_config

    host = host or hub.settings.webhooks.host
    port = hub.settings.webhooks.port if port is None else port
    sock = listening_socket(host, port)
    server = uvicorn.Server(server_config(hub, host=host, port=port, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="webhooks", daemon=True)
    thread.start()
    return server, thread
