"""The demo's world: three simulated stores and a hub on the embedded default.

Two Shopify stores and one WooCommerce store are seeded with the same catalogue (shop-b also
lists one product the hub does not know); a fresh workspace holds SQLite and an embedded
Redis; worker processes and the webhook server run as they would under `marketsync run`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from sandbox.catalogue import SeedSpec
from sandbox.runtime import free_port
from sandbox.shopify import ShopifySandbox
from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from store.settings import load_settings
from sync.accounts import add_account
from sync.context import Hub
from sync.queues import all_queues
from sync.runtime import set_hub
from sync.service import start_workers, stop_workers, webhook_url
from sync.workers import worker_environment

UNMATCHED_SKU = "LOCAL-ONLY-1"


@dataclass
class Channel:
    """One simulated store and the hub account connected to it."""

    account: str
    platform: str
    sandbox: Any

    def quantity(self, sku: str) -> int | None:
        """What a buyer sees on the channel right now (the stock location's available)."""
        if self.platform == "woocommerce":
            value = self.sandbox.stock(sku)
            return None if value is None else int(value)
        levels = self.sandbox.quantities(sku)
        return int(next(iter(levels.values()))["available"]) if levels else None

    def flush_webhooks(self) -> None:
        if self.platform == "woocommerce":
            self.sandbox.flush_webhooks()
        else:
            self.sandbox.webhooks.flush()


@dataclass
class DemoWorld:
    home: Path
    products: int = 30
    variants: int = 3
    stock: int = 12
    workers: int = 2
    channels: list[Channel] = field(default_factory=list)
    hub: Hub | None = None
    _server: subprocess.Popen[bytes] | None = None
    _workers: list[Any] = field(default_factory=list)

    @property
    def skus(self) -> list[str]:
        return [f"MS-{p:04d}-{v}" for p in range(1, self.products + 1) for v in range(1, self.variants + 1)]

    def start_stores(self) -> None:
        spec = SeedSpec(products=self.products, variants=self.variants, stock=self.stock, seed=7)
        lonely = SeedSpec(products=self.products, variants=self.variants, stock=self.stock, seed=7,
                          extra=({"sku": UNMATCHED_SKU, "title": "Shop B's own product", "stock": 5},))
        self.channels = [
            Channel("shop-a", "shopify", ShopifySandbox(spec=spec, shop="shop-a").start()),
            Channel("shop-b", "shopify", ShopifySandbox(spec=lonely, shop="shop-b").start()),
            Channel("woo", "woocommerce", WooCommerceSandbox(spec=spec).start()),
        ]

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
            box = channel.sandbox
            if channel.platform == "shopify":
                add_account(hub, "shopify", channel.account, {"shop": box.shop_domain, "base_url": box.url},
                            {"access_token": box.access_token, "client_secret": box.client_secret}, actor="demo")
            else:
                add_account(hub, "woocommerce", channel.account, {"url": box.url},
                            {"consumer_key": box.consumer_key, "consumer_secret": box.consumer_secret,
                             "webhook_secret": "demo-webhook-secret"}, actor="demo")

    def start_services(self) -> None:
        """Worker processes and the webhook server (its own process, as `marketsync serve` runs in
        production), registered on every channel."""
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
        with hub.db.session() as session:
            accounts = list(session.scalars(select(tables.Account)))
        for account in accounts:
            connector = hub.connector(account)
            try:
                connector.register_webhooks(webhook_url(base, account.platform, account.name))
            finally:
                connector.close()

    def require_hub(self) -> Hub:
        if self.hub is None:
            raise RuntimeError("the demo hub is not started")
        return self.hub

    def busy(self) -> dict[str, int]:
        """What is still in flight: queued and running jobs, pending pushes and events."""
        hub = self.require_hub()
        queued = sum(len(q) for q in all_queues(hub.redis))
        running = sum(StartedJobRegistry(queue=q).count for q in all_queues(hub.redis))
        with hub.db.session() as session:
            listings = session.scalar(select(func.count()).select_from(tables.Listing)
                                      .where(tables.Listing.push_pending.is_(True))) or 0
            shipments = session.scalar(select(func.count()).select_from(tables.Shipment)
                                       .where(tables.Shipment.push_status != "pushed")) or 0
            events = session.scalar(select(func.count()).select_from(tables.WebhookEvent)
                                    .where(tables.WebhookEvent.status == "received")) or 0
        return {"queued": queued, "running": running, "pending_listings": int(listings),
                "pending_shipments": int(shipments), "unprocessed_events": int(events)}

    def settle(self, timeout_s: float = 60.0) -> dict[str, int]:
        """Wait until webhooks are delivered and the hub has nothing left to do (twice in a row)."""
        deadline = time.monotonic() + timeout_s
        quiet = 0
        state: dict[str, int] = {}
        while time.monotonic() < deadline:
            for channel in self.channels:
                channel.flush_webhooks()
            state = self.busy()
            quiet = quiet + 1 if not any(state.values()) else 0
            if quiet >= 2:
                return state
            time.sleep(0.2)
        return state

    def stop(self, keep: bool) -> None:
        stop_workers(self._workers + ([self._server] if self._server is not None else []))
        for channel in self.channels:
            channel.sandbox.stop()
        if self.hub is not None:
            self.hub.close()
            set_hub(None)
        if not keep and self.home.exists():
            shutil.rmtree(self.home, ignore_errors=True)


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
