"""The demo's world: simulated stores of any registered platforms and a hub on the embedded default.

Every store is started through the simulator registry (`sandbox.interface`) and seeded with the
same catalogue; the second store also lists one product the hub does not know. Accounts are
connected with what each simulator says it needs (`account_setup`), events are wired by what each
connector declares (webhooks it registers, a console push URL, or a queue the hub pulls), and a
fresh workspace holds SQLite and an embedded Redis; worker processes and the webhook server run
as they would under `marketsync run`. Nothing here names a platform.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import func, select

from connectors.base import Capability, connector_class
from sandbox.catalogue import SeedSpec
from sandbox.interface import Simulator, UnknownSimulator, installed_simulators, start_simulator
from sandbox.runtime import free_port
from store import tables
from store.settings import load_settings
from sync.hub.accounts import add_account
from sync.hub.context import Hub
from sync.hub.queues import all_queues, enqueue_unique
from sync.jobs import set_hub
from sync.orders.polling import enqueue_poll
from sync.orders.pulled import due_pulls
from sync.service.processes import start_workers, stop_workers, webhook_url
from sync.service.workers import worker_environment

UNMATCHED_SKU = "LOCAL-ONLY-1"
DEFAULT_PLATFORMS = ("shopify", "shopify", "woocommerce")
POLL_EVERY_S = 2.0  # the demo's order-poll interval for accounts without events (the scheduler's: 60 s)


def account_names(platforms: Sequence[str]) -> list[str]:
    """One account per store: the platform's name, then `-2`, `-3`… for further stores of it."""
    seen: Counter[str] = Counter()
    names = []
    for platform in platforms:
        seen[platform] += 1
        names.append(platform if seen[platform] == 1 else f"{platform}-{seen[platform]}")
    return names


def check_platforms(platforms: Sequence[str]) -> None:
    """Refuse an unknown platform before anything starts (UnknownSimulator names the installed ones)."""
    installed = installed_simulators()
    for platform in platforms:
        if platform not in installed:
            names = ", ".join(sorted(installed))
            raise UnknownSimulator(f"no simulator for platform {platform!r}; installed: {names}")
    if not platforms:
        raise UnknownSimulator("the demo needs at least one platform")


@dataclass
class Channel:
    """One simulated store and the hub account connected to it."""

    account: str
    simulator: Simulator

    @property
    def platform(self) -> str:
        return self.simulator.platform

    def quantity(self, sku: str) -> int | None:
        """What a buyer can buy on the channel right now (at the hub's stock location)."""
        return self.simulator.available(sku)


@dataclass
class DemoWorld:
    home: Path
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS
    products: int = 30
    variants: int = 3
    stock: int = 12
    workers: int = 2
    channels: list[Channel] = field(default_factory=list)
    hub: Hub | None = None
    _server: subprocess.Popen[bytes] | None = None
    _workers: list[Any] = field(default_factory=list)
    _next_poll: float = 0.0

    @property
    def skus(self) -> list[str]:
        return [f"MS-{p:04d}-{v}" for p in range(1, self.products + 1) for v in range(1, self.variants + 1)]

    @property
    def source(self) -> Channel:
        """The store the hub imports its catalogue and stock from."""
        return self.channels[0]

    def start_stores(self) -> None:
        check_platforms(self.platforms)
        spec = SeedSpec(products=self.products, variants=self.variants, stock=self.stock, seed=7)
        lonely = SeedSpec(products=self.products, variants=self.variants, stock=self.stock, seed=7,
                          extra=({"sku": UNMATCHED_SKU, "title": "A product only this store sells", "stock": 5},))
        for index, (name, platform) in enumerate(zip(account_names(self.platforms), self.platforms, strict=True)):
            simulator = start_simulator(platform, seed=lonely if index == 1 else spec, name=name)
            self.channels.append(Channel(name, simulator))

    def start_hub(self) -> Hub:
        """A fresh workspace on the embedded default, whatever the caller's environment says."""
        if self.home.exists():
            shutil.rmtree(self.home)
        settings = load_settings(home=str(self.home))
        settings.database.url = ""
        settings.redis.url = ""
        hub = Hub(settings)
        hub.workspace.secret_box(create=True)
        hub.db.upgrade()
        set_hub(hub)
        self.hub = hub
        return hub

    def connect_accounts(self) -> None:
        hub = self.require_hub()
        for channel in self.channels:
            setup = channel.simulator.account_setup()
            add_account(hub, setup.platform, channel.account, dict(setup.options), dict(setup.secrets), actor="demo")

    def start_services(self) -> None:
        """Worker processes and the webhook server (its own process, as `marketsync serve` runs in
        production); each account's events wired the way its connector declares."""
        hub = self.require_hub()
        env = {**os.environ, "MARKETSYNC_HOME": str(self.home), "MARKETSYNC_DATABASE__URL": "",
               "MARKETSYNC_REDIS__URL": ""}
        env.pop("MARKETSYNC_CONFIG", None)
        self._workers = start_workers(hub, self.workers, base_env=env)
        port = free_port()
        self._server = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=worker_environment(hub.redis, env), start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, self._server)
        simulators = {channel.account: channel.simulator for channel in self.channels}
        with hub.db.session() as session:
            accounts = list(session.scalars(select(tables.Account)))
        for account in accounts:
            url = webhook_url(base, account.platform, account.name)
            connector = hub.connector(account)
            try:
                if connector.can(Capability.REGISTER_WEBHOOKS):
                    connector.register_webhooks(url)
                elif connector.can(Capability.WEBHOOKS):
                    simulators[account.name].set_push_url(url)
            finally:
                connector.close()

    def events_wired(self) -> dict[str, str]:
        """How each account hears about changes, by what its connector declares."""
        hub = self.require_hub()
        wired: dict[str, str] = {}
        with hub.db.session() as session:
            accounts = list(session.scalars(select(tables.Account)))
        for account in accounts:
            connector = hub.connector(account)
            try:
                wired[account.name] = ("webhooks" if connector.can(Capability.REGISTER_WEBHOOKS) else
                                       "pushes" if connector.can(Capability.WEBHOOKS) else
                                       "pulled queue" if connector.can(Capability.PULL_EVENTS) else "polling")
            finally:
                connector.close()
        return wired

    def _declaring(self, *capabilities: Capability, lacking: tuple[Capability, ...] = ()) -> list[int]:
        """Account ids whose connector declares every one of `capabilities` and none of `lacking`."""
        hub = self.require_hub()
        with hub.db.session() as session:
            rows = session.execute(select(tables.Account.id, tables.Account.platform)).all()
        found = []
        for account_id, platform in rows:
            declared = connector_class(platform).capabilities
            if all(c in declared for c in capabilities) and not any(c in declared for c in lacking):
                found.append(int(account_id))
        return found

    def run_schedule(self) -> int:
        """What the scheduler does meanwhile, compressed: drain the queues of accounts that consume one,
        and poll the orders of accounts that hear of them no other way (every POLL_EVERY_S)."""
        hub = self.require_hub()
        count = sum(enqueue_unique(hub.redis, queue_name, function, args, job_id)
                    for queue_name, function, args, job_id in due_pulls(hub))
        if time.monotonic() >= self._next_poll:
            self._next_poll = time.monotonic() + POLL_EVERY_S
            silent = self._declaring(Capability.READ_ORDERS, lacking=(Capability.WEBHOOKS, Capability.PULL_EVENTS))
            count += sum(enqueue_poll(hub, account_id) for account_id in silent)
        return count

    def safety_net(self) -> None:
        """The scheduler's periodic safety net, once: poll every account's orders and reconcile every
        account whose live stock can be read and written (drift a channel made on its own is put right)."""
        hub = self.require_hub()
        for account_id in self._declaring(Capability.READ_ORDERS):
            enqueue_poll(hub, account_id)
        for account_id in self._declaring(Capability.READ_STOCK, Capability.WRITE_STOCK):
            enqueue_unique(hub.redis, "default", "sync.jobs.reconcile_account", (account_id,),
                           f"reconcile-{account_id}")

    def require_hub(self) -> Hub:
        if self.hub is None:
            raise RuntimeError("the demo hub is not started")
        return self.hub

    def busy(self) -> dict[str, int]:
        """What is still in flight: queued and running jobs, pending pushes and events."""
        hub = self.require_hub()
        queued = sum(len(q) for q in all_queues(hub.redis))
        running = sum(StartedJobRegistry(queue=q).count for q in all_queues(hub.redis))
        scheduled = sum(ScheduledJobRegistry(queue=q).count for q in all_queues(hub.redis))  # retries
        with hub.db.session() as session:
            listings = session.scalar(select(func.count()).select_from(tables.Listing)
                                      .where(tables.Listing.push_pending.is_(True))) or 0
            writes = session.scalar(select(func.count()).select_from(tables.StockWrite)) or 0
            shipments = session.scalar(select(func.count()).select_from(tables.Shipment)
                                       .where(tables.Shipment.push_status != "pushed")) or 0
            events = session.scalar(select(func.count()).select_from(tables.WebhookEvent)
                                    .where(tables.WebhookEvent.status.in_(tables.EVENTS_UNDONE))) or 0
        return {"queued": queued, "running": running, "retries_scheduled": scheduled, "pending_listings": int(listings),
                "writes_in_flight": int(writes), "pending_shipments": int(shipments),
                "unprocessed_events": int(events)}

    def settle(self, idle_timeout_s: float = 90.0, limit_s: float = 600.0,
               outstanding: Callable[[], dict[str, int]] | None = None) -> dict[str, int]:
        """Wait until events are delivered (or pulled) and the hub has nothing left to do (twice in a row);
        with `outstanding`, also until each of the counts it returns is 0 (what the hub has yet to see).

        Gives up after `idle_timeout_s` without progress (the outstanding work neither shrank nor changed
        and no retry is scheduled), or after `limit_s` in all: a busy machine slows the hub down, and only a
        hub that stopped moving fails.
        """
        started = time.monotonic()
        last_progress = started
        quiet = 0
        state: dict[str, int] = {}
        while time.monotonic() - started < limit_s and (
                time.monotonic() - last_progress < idle_timeout_s or state.get("retries_scheduled")):
            for channel in self.channels:
                channel.simulator.flush_events()
            self.run_schedule()
            previous, state = state, {**self.busy(), **(outstanding() if outstanding is not None else {})}
            if state != previous:
                last_progress = time.monotonic()
            quiet = quiet + 1 if not any(state.values()) else 0
            if quiet >= 2:
                return state
            time.sleep(0.2)
        return state

    def stop(self, keep: bool) -> None:
        stop_workers(self._workers + ([self._server] if self._server is not None else []))
        for channel in self.channels:
            channel.simulator.stop()
        if self.hub is not None:
            self.hub.close()
            set_hub(None)
        if not keep and self.home.exists():  # everything goes but the report, which the summary points at
            for entry in self.home.iterdir():
                if entry.name == "report.html":
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)


def wait_until_healthy(base: str, process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """Wait for the webhook server's /healthz; fail clearly if it exits or never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the webhook server exited with code {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the webhook server at {base} did not become healthy in {timeout_s:.0f} s")


def default_home() -> Path:
    return Path(tempfile.mkdtemp(prefix="marketsync-demo-")) / "workspace"
