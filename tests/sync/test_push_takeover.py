"""A worker SIGKILLed mid-push does not stall the account: its next push starts within 10 s (finding 1).

Real worker processes on the test database and Redis, a WooCommerce simulator that stalls every
API request while the doomed worker pushes, and the hub's scheduler tick (with nothing scheduled:
only its housekeeping of due retries and expired push claims) in a thread of the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from bench.harness import connect_woocommerce, link_listings
from sandbox.catalogue import SeedSpec
from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from sync.hub.context import Hub
from sync.hub.queues import queue
from sync.service.liveness import ALIVE_PREFIX
from sync.service.scheduler import Scheduler
from sync.stock import push_queue

SKUS = [f"MS-000{n}-1" for n in range(1, 5)]


def wait_for(predicate: Callable[[], object], within_s: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def claim_of(hub: Hub, account_id: int) -> tables.PushClaim | None:
    with hub.db.sessions() as session:
        return session.get(tables.PushClaim, account_id)


def live_workers(hub: Hub) -> int:
    return sum(1 for _ in hub.redis.scan_iter(match=ALIVE_PREFIX + "*"))


@pytest.fixture
def woo(hub: Hub) -> Iterator[tuple[WooCommerceSandbox, int]]:
    with WooCommerceSandbox(spec=SeedSpec(products=4, variants=1, stock=10)) as sandbox:
        account_id = connect_woocommerce(hub, sandbox, "woo")
        link_listings(hub, "woo")
        from sync.stock.change import StockChange
        from sync.stock.ledger import Movement
        from sync.stock.locations import hub_location

        with hub.db.session() as session:  # the hub's stock: every listing pending
            change = StockChange(session, hub.settings)
            for variant in session.scalars(select(tables.Variant)):
                change.move(Movement(f"adjust:{variant.sku}", variant.id, hub_location(session).id, on_hand_delta=7))
            change.settle()
        push_queue.schedule_pushes(hub, [account_id])
        yield sandbox, account_id


def spawn_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_a_push_killed_mid_drain_is_taken_over_within_ten_seconds(
        hub: Hub, hub_env: dict[str, str], woo: tuple[WooCommerceSandbox, int]) -> None:
    sandbox, account_id = woo
    env = {**os.environ, **hub_env}
    sandbox.faults.latency_ms = 120_000  # every API request stalls: the push hangs in its first call
    stop = threading.Event()
    ticker = threading.Thread(target=Scheduler(hub, []).run, args=(stop,), daemon=True)
    doomed = spawn_worker(env)
    survivor = None
    try:
        held = wait_for(lambda: (claim_of(hub, account_id) or tables.PushClaim()).holder, 60)
        assert held is not None, "the doomed worker never claimed the account's push"
        first = claim_of(hub, account_id)
        assert first is not None
        dead_holder, claimed_at = first.holder, first.claimed_at
        survivor = spawn_worker(env)
        assert wait_for(lambda: live_workers(hub) == 2, 60) is not None, "the second worker never started"
        # Warm the survivor (it builds its hub on its first job, as a long-running worker has long done).
        queue("stock", hub.redis).enqueue("sync.jobs.push_stock", 10**6, result_ttl=0)
        assert wait_for(lambda: queue("stock", hub.redis).count == 0, 30) is not None
        time.sleep(push_queue.RENEW_S + 0.5)
        renewed = claim_of(hub, account_id)  # the doomed holder renews its claim while its HTTP call hangs
        assert renewed is not None and renewed.holder == dead_holder and renewed.claimed_at > claimed_at
        ticker.start()

        sandbox.faults.latency_ms = 0
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        push_queue.request_pushes(hub, [account_id])  # a change right after the death asks for a push
        taken = wait_for(lambda: (claim_of(hub, account_id) or tables.PushClaim()).holder not in (None, dead_holder)
                         or sandbox.writes.entries(), 30)
        assert taken is not None, "nothing took the dead worker's push over"
        print(f"next push started {taken:.1f} s after the kill")
        assert taken < 10, f"the account's next push started {taken:.1f} s after its worker was killed"
        assert wait_for(lambda: [sandbox.stock(sku) for sku in SKUS] == [7, 7, 7, 7], 30) is not None
    finally:
        stop.set()
        for process in (doomed, survivor):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
