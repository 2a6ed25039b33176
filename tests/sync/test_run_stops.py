"""`marketsync run` stops within seconds, even while a worker waits on a rate budget (finding 3).

The account's shop answers every request with 429 and Retry-After 25 s: the worker's order poll
pauses the account's bucket and waits it out inside the request (25 s, up to six times). SIGTERM
must not wait for that: the wait is cut short, the job put back on its queue, and `run` exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from bench.harness import connect_woocommerce
from sandbox.catalogue import SeedSpec
from sandbox.runtime import free_port
from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from sync.hub.context import Hub
from sync.hub.queues import queue
from tests.sync.test_run import alive, children_of


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_stops_within_seconds_while_a_worker_waits_on_a_budget(
        hub: Hub, hub_env: dict[str, str], signum: signal.Signals) -> None:
    with WooCommerceSandbox(spec=SeedSpec(products=2, variants=1, stock=5)) as sandbox:
        account_id = connect_woocommerce(hub, sandbox, "woo")
        sandbox.faults.next(429, retry_after=25, count=1000)
        env = {**os.environ, **hub_env, "MARKETSYNC_WEBHOOKS__PORT": str(free_port())}
        process = subprocess.Popen([sys.executable, "-m", "cli.main", "run", "--workers", "1"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not sandbox.requests.by_status[429] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert sandbox.requests.by_status[429], "no worker ever asked the shop"
            time.sleep(1.0)  # the worker is now waiting out the shop's 25 s
            children = children_of(process.pid)
            process.send_signal(signum)
            signalled = time.monotonic()
            output = process.communicate(timeout=90)[0].decode()
            took = time.monotonic() - signalled
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode in (0, 130), output
    assert "stopped" in output
    print(f"run stopped {took:.1f} s after the signal")
    assert took < 10, f"`marketsync run` took {took:.1f} s to stop:\n{output}"
    time.sleep(0.5)
    assert not [pid for pid in children if alive(pid)]
    # The interrupted poll is back on its queue for the next run, and not taken for the account's failure.
    orders = queue("orders", hub.redis)
    assert f"poll-orders-{account_id}" in orders.job_ids and orders.failed_job_registry.count == 0
    with hub.db.sessions() as session:
        account = session.get(tables.Account, account_id)
        assert account is not None and "stopping" not in (account.last_error or "")
