"""Starting and stopping the hub's long-running pieces: worker processes and the webhook server.

`marketsync run` and `marketsync demo` both use these, so the demo runs exactly what a
merchant runs.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import Any

from sync.context import Hub
from sync.webserver import build_app
from sync.workers import worker_environment

SHUTDOWN_GRACE_S = 20.0


def webhook_path(platform: str, account: str) -> str:
    return f"/webhooks/{platform}/{account}"


def webhook_url(base: str, platform: str, account: str) -> str:
    """The delivery URL for an account: `base` is the public URL of `marketsync serve`
    (a URL already ending in the account's path is used as is)."""
    path = webhook_path(platform, account)
    base = base.rstrip("/")
    return base if base.endswith(path) else base + path


def start_workers(hub: Hub, count: int, *, base_env: Mapping[str, str] | None = None) -> list[subprocess.Popen[bytes]]:
    """Worker processes in their own session: a terminal's Ctrl-C reaches only the parent, which
    forwards one SIGTERM each (RQ's warm shutdown: the current job finishes)."""
    env = worker_environment(hub.redis, dict(base_env) if base_env is not None else None)
    args = [sys.executable, "-m", "cli.main", "worker", "--count", "1"]
    return [subprocess.Popen(args, env=env, start_new_session=True) for _ in range(count)]


def stop_workers(processes: list[subprocess.Popen[bytes]], grace_s: float = SHUTDOWN_GRACE_S) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_webserver(hub: Hub, *, host: str | None = None, port: int | None = None) -> tuple[Any, threading.Thread]:
    """The webhook server (`sync.webserver.build_app`) served by uvicorn in a thread."""
    import uvicorn  # imported when used: it adds a fifth of a second to every CLI command

    config = uvicorn.Config(build_app(hub), host=host or hub.settings.webhooks.host,
                            port=hub.settings.webhooks.port if port is None else port,
                            log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="webhooks", daemon=True)
    thread.start()
    return server, thread
