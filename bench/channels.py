"""The simulated channels a benchmark sells on, and how the hub is connected to them: the
simulators started (each in its own process) and seeded alike, one account per simulator, the
catalogue and stock imported from WooCommerce, and each account's events wired as its connector
declares. Shared by the propagation, burst and chaos runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.simproc import RemoteSimulator
from sandbox.catalogue import SeedSpec
from sync.catalog.importing import import_catalog, refresh_listings
from sync.hub.accounts import add_account, get_account
from sync.hub.context import Hub
from sync.service.processes import webhook_url
from sync.service.workers import run_worker
from sync.stock.operations import import_stock

Channels = Sequence[tuple[str, str]]  # (account name, platform)

# The six marketplace simulators (淘宝/天猫, 拼多多, 京东, 抖店, 快手, 微信小店), each under its account name.
MARKETPLACES = (("taobao", "taobao"), ("pdd", "pinduoduo"), ("jd", "jd"), ("douyin", "douyin"),
                ("kuaishou", "kuaishou"), ("wechat", "wechat"))
CATALOGUE_SOURCE = "woo"  # the account the hub imports its catalogue and stock from


def start_channels(spec: SeedSpec, channels: Channels) -> dict[str, RemoteSimulator]:
    """One simulator process per channel (started side by side), each seeded with `spec`; Shopify
    shops on the standard plan. None is left running when one fails to start."""

    def start(name: str, platform: str) -> RemoteSimulator:
        options: dict[str, Any] = {"name": name, "plan": "standard"} if platform == "shopify" else {}
        simulator = RemoteSimulator(platform, **options)
        try:
            simulator.seed(spec)
        except BaseException:
            simulator.stop()
            raise
        return simulator

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(start, name, platform) for name, platform in channels}
    started: dict[str, RemoteSimulator] = {}
    failure: BaseException | None = None
    for name, future in futures.items():
        try:
            started[name] = future.result()
        except BaseException as error:
            failure = failure or error
    if failure is not None:
        for simulator in started.values():
            simulator.stop()
        raise failure
    return started


def connect_account(hub: Hub, simulator: RemoteSimulator, name: str, *, actor: str, base_url: str | None = None,
                    webhook_secret: str = "bench-whsec") -> None:
    """The hub's account `name` on `simulator`; `base_url` reaches a Shopify shop another way (a proxy).
    A simulator other than Shopify's and WooCommerce's says itself how an account connects to it."""
    info = simulator.info
    if simulator.platform == "shopify":
        add_account(hub, "shopify", name, {"shop": info["shop_domain"], "base_url": base_url or info["url"]},
                    {"access_token": info["access_token"], "client_secret": info["client_secret"]}, actor=actor)
    elif simulator.platform == "woocommerce":
        add_account(hub, "woocommerce", name, {"url": info["url"]},
                    {"consumer_key": info["consumer_key"], "consumer_secret": info["consumer_secret"],
                     "webhook_secret": info.get("webhook_secret", webhook_secret)}, actor=actor)
    else:
        setup = info["account_setup"]
        add_account(hub, setup["platform"], name, setup["options"], setup["secrets"], actor=actor)


def populate(hub: Hub, accounts: Sequence[str], *, actor: str) -> None:
    """Catalogue and stock from WooCommerce, listings read on every other account (in this process:
    setup is not what is measured), and the jobs that follow run to completion."""
    import_catalog(hub, CATALOGUE_SOURCE, actor=actor)
    for name in accounts:
        if name != CATALOGUE_SOURCE:
            refresh_listings(hub, name, actor=actor)
    import_stock(hub, CATALOGUE_SOURCE)
    run_worker(hub.redis, burst=True)


def wire_events(hub: Hub, webhook_base: str, channels: dict[str, RemoteSimulator]) -> dict[str, str]:
    """Each account's events as its connector declares them (registered webhooks, the platform's
    pushes pointed at the webhook server at `webhook_base`, or a pulled queue the scheduler drains,
    or order polls); how, by account. A webhook server restarted on the same port needs nothing again."""
    from connectors.base import Capability

    wired = {}
    for name, simulator in channels.items():
        with hub.db.session() as session:
            account = get_account(session, name)
        connector = hub.connector(account)
        try:
            url = webhook_url(webhook_base, account.platform, name)
            if connector.can(Capability.REGISTER_WEBHOOKS):
                connector.register_webhooks(url)
                wired[name] = "webhooks"
            elif connector.can(Capability.WEBHOOKS):
                simulator.set_push_url(url)
                wired[name] = "pushes"
            else:
                wired[name] = "pulled" if connector.can(Capability.PULL_EVENTS) else "polled"
        finally:
            connector.close()
    return wired
