"""`marketsync sync --once`, `marketsync run` and the scheduler."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bench.chaos_tools import children as children_of
from bench.harness import connect_woocommerce, link_listings
from sandbox.catalogue import SeedSpec
from sandbox.runtime import free_port
from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from sync.hub.context import Hub
from sync.hub.queues import queue
from sync.service.scheduler import Scheduler, default_schedule


@pytest.fixture
def woo(hub: Hub) -> Iterator[WooCommerceSandbox]:
    with WooCommerceSandbox(spec=SeedSpec(products=4, variants=1, stock=10)) as sandbox:
        connect_woocommerce(hub, sandbox, "woo")
        link_listings(hub, "woo")
        with hub.db.session() as session:  # the hub's stock, recorded without pushing anything yet
            from sync.stock.change import StockChange
            from sync.stock.ledger import Movement
            from sync.stock.locations import hub_location

            change = StockChange(session, hub.settings)
            for variant in session.scalars(select(tables.Variant)):
                change.move(Movement(f"adjust:{variant.sku}", variant.id, hub_location(session).id, on_hand_delta=7))
            change.settle()
        yield sandbox


def test_dry_run_prints_the_changes_and_sends_nothing(cli, hub: Hub, woo: WooCommerceSandbox) -> None:
    woo.writes.clear()
    result = cli("sync", "--once", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    changes = json.loads(result.output)["changes"]
    assert sorted((c["account"], c["sku"], c["to"]) for c in changes) == [
        ("woo", f"MS-000{n}-1", 7) for n in range(1, 5)]
    assert "MS-0001-1" in cli("sync", "--once", "--dry-run").output
    assert woo.writes.entries() == []
    assert queue("stock", hub.redis).count == 0


def test_sync_once_pushes_through_the_queue_and_reports(cli, hub: Hub, woo: WooCommerceSandbox) -> None:
    hub.redis.flushdb()  # pushes asked for by the setup are lost: sync --once finds them in the database
    result = cli("sync", "--once", "--account", "woo", "--json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)["accounts"]
    assert (row["account"], row["sent"], row["still_pending"]) == ("woo", 4, 0)
    assert [woo.stock(f"MS-000{n}-1") for n in range(1, 5)] == [7, 7, 7, 7]
    assert json.loads(cli("sync", "--once", "--dry-run", "--json").output)["changes"] == []


def test_the_scheduler_enqueues_each_periodic_job_once(hub: Hub, woo: WooCommerceSandbox) -> None:
    hub.redis.flushdb()
    scheduler = Scheduler(hub, default_schedule(hub))
    assert scheduler.tick(now=1000.0) == 4  # the account's order poll, the sweep, planning, alerts
    assert scheduler.tick(now=1000.5) == 0  # nothing is due yet
    # the reconciliation comes one interval after the start, not with the first tick
    assert scheduler.tick(now=1000.0 + hub.settings.sync.reconcile_interval_s) == 1  # the others' jobs still queued
    for task in scheduler.schedule:
        task.next_at = 0
    assert scheduler.tick(now=2000.0) == 0  # due again, but the queued jobs absorb it
    ids = {job_id for q in ("stock", "default", "orders") for job_id in queue(q, hub.redis).job_ids}
    account = woo_account(hub)
    assert {"sweep", "planning-refresh", "alerts-evaluate", f"reconcile-{account}", f"poll-orders-{account}"} <= ids


def test_an_account_heard_only_by_polls_is_polled_every_few_seconds(hub: Hub, woo: WooCommerceSandbox) -> None:
    """拼多多 sends the hub no order events: its poll is how a sale is heard (the nine-channel propagation
    run: p50 ~47 s from 拼多多 and 京东 at one poll a minute); the WooCommerce account keeps the minute."""
    with hub.db.session() as session:
        row = tables.Account(name="pdd", platform="pinduoduo")
        session.add(row)
        session.flush()
        pdd = row.id
    hub.redis.flushdb()
    scheduler = Scheduler(hub, default_schedule(hub))
    scheduler.tick(now=1000.0)
    polls = {job_id for job_id in queue("orders", hub.redis).job_ids if job_id.startswith("poll-orders-")}
    assert polls == {f"poll-orders-{pdd}", f"poll-orders-{woo_account(hub)}"}
    queue("orders", hub.redis).empty()
    scheduler.tick(now=1000.0 + hub.settings.sync.polled_only_interval_s)
    assert hub.settings.sync.polled_only_interval_s < hub.settings.sync.order_poll_interval_s
    assert [j for j in queue("orders", hub.redis).job_ids if j.startswith("poll-orders-")] == [f"poll-orders-{pdd}"]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def woo_account(hub: Hub) -> int:
    with hub.db.session() as session:
        return int(session.scalar(select(tables.Account.id).where(tables.Account.name == "woo")) or 0)


@pytest.mark.slow
def test_run_serves_until_ctrl_c_and_leaves_no_process(hub: Hub, woo: WooCommerceSandbox) -> None:
    env = {**os.environ, "MARKETSYNC_WEBHOOKS__PORT": str(free_port()), "MARKETSYNC_SYNC__SWEEP_INTERVAL_S": "1"}
    hub.redis.flushdb()  # only the sweep can find the pending pushes now
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "run", "--workers", "2"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while woo.stock("MS-0004-1") != 7 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert woo.stock("MS-0004-1") == 7
        children = children_of(process.pid)
        assert len(children) >= 2
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode in (0, 130), output
    assert "stopped" in output
    time.sleep(0.5)
    assert not [pid for pid in children if alive(pid)]


def test_run_and_serve_fail_at_start_when_the_webhook_port_is_taken(hub: Hub) -> None:
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = str(taken.getsockname()[1])
    env = {**os.environ, "MARKETSYNC_WEBHOOKS__PORT": port}
    try:
        for command in (["run", "--workers", "1"], ["serve"]):
            try:
                result = subprocess.run([sys.executable, "-m", "cli.main", *command], env=env, capture_output=True,
                                        text=True, timeout=60)
            except subprocess.TimeoutExpired:
                pytest.fail(f"`marketsync {' '.join(command)}` kept running without its webhook port")
            assert result.returncode == 1, (command, result.stdout, result.stderr)
            assert f"cannot listen for webhooks on 127.0.0.1:{port}" in result.stderr
            assert len(result.stderr.strip().splitlines()) == 1 and "webhooks on" not in result.stdout
    finally:
        taken.close()
