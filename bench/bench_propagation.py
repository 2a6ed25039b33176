"""Propagation benchmark: a burst of movements over N listings on two simulated channels.

Reports, per account: stock-write calls against the ideal ⌈changed ÷ batch⌉, items per second,
time to converge (last movement committed → every channel shows the hub's number), THROTTLED /
429 answers, and the baseline of one call per item measured side by side on the same changes.
Environment: BENCH_LISTINGS (default 2000), BENCH_WORKERS (2), BENCH_DATABASE_URL (default a
SQLite file), REDIS_URL (default the embedded Redis). Writes bench/results/propagation.json.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.harness import connect_shopify, connect_woocommerce, link_listings, make_hub
from connectors.stock import StockUpdate
from sandbox.catalogue import SeedSpec
from sandbox.shopify import ShopifySandbox
from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from sync.hub.accounts import get_account
from sync.hub.context import Hub
from sync.jobs import set_hub
from sync.service.cycle import drain
from sync.service.workers import worker_environment
from sync.stock import operations as stock
from sync.stock.change import StockChange
from sync.stock.ledger import Movement
from sync.stock.locations import hub_location
from sync.stock.push_queue import schedule_pushes

NAME = "propagation"


def burst(hub: Hub, count: int, skus: list[str], rng: random.Random, tag: str, per_transaction: int = 20,
          schedule: bool = True) -> float:
    """`count` order/adjust movements over `skus`, committed `per_transaction` at a time; seconds taken."""
    with hub.db.session() as session:
        variants = dict(session.execute(select(tables.Variant.sku, tables.Variant.id)).all())
        location = hub_location(session).id
    started = time.perf_counter()
    for start in range(0, count, per_transaction):
        with hub.db.session() as session:
            change = StockChange(session, hub.settings)
            for n in range(start, min(start + per_transaction, count)):
                sku = skus[n % len(skus)]
                change.move(Movement(f"{tag}:{n}", variants[sku], location, on_hand_delta=-rng.randint(0, 2),
                                     committed_delta=rng.randint(0, 1), reason="adjust", source="bench"))
            change.settle()
        if schedule:
            schedule_pushes(hub)
    return time.perf_counter() - started


def converged(hub: Hub, woo: WooCommerceSandbox, shop: ShopifySandbox, skus: list[str]) -> bool:
    with hub.db.session() as session:
        pending = session.scalar(select(tables.Listing.id).where(tables.Listing.push_pending.is_(True)).limit(1))
        if pending is not None:
            return False
        desired = {(a, s): q for a, s, q in session.execute(
            select(tables.Account.name, tables.Variant.sku, tables.Listing.desired_quantity)
            .join(tables.Account, tables.Account.id == tables.Listing.account_id)
            .join(tables.Variant, tables.Variant.id == tables.Listing.variant_id))}
    return all(woo.stock(s) == desired[("woo", s)] and
               next(iter(shop.quantities(s).values()))["available"] == desired[("shop", s)] for s in skus)


def write_calls(woo: WooCommerceSandbox, shop: ShopifySandbox) -> dict[str, int]:
    routes = woo.requests.as_dict()["by_route"]
    return {"woo": sum(n for route, n in routes.items() if route.startswith("POST") and "batch" in route),
            "shop": shop.request_counts()["by_route"].get("graphql", 0)}


def reset(woo: WooCommerceSandbox, shop: ShopifySandbox) -> None:
    woo.requests.reset()
    woo.writes.clear()
    shop.set_plan("standard")
    shop.reset_counters()


def throttled(woo: WooCommerceSandbox, shop: ShopifySandbox) -> dict[str, int]:
    return {"woo_429": int(woo.requests.as_dict()["by_status"].get("429", 0)),
            "shop_throttled": int(shop.request_counts()["throttled"])}


def pending_updates(hub: Hub, account: str) -> list[StockUpdate]:
    with hub.db.session() as session:
        rows = session.scalars(select(tables.Listing).join(tables.Account).where(
            tables.Account.name == account, tables.Listing.push_pending.is_(True))).all()
        return [StockUpdate(str(r.id), r.external_variant_id, r.external_product_id, r.external_inventory_item_id,
                            None, r.desired_quantity or 0, None) for r in rows]


def baseline(hub: Hub, account: str, woo: WooCommerceSandbox, shop: ShopifySandbox) -> dict[str, Any]:
    """One call per changed item (what a naive sync does), on the pending changes of `account`."""
    reset(woo, shop)
    with hub.db.session() as session:
        row = get_account(session, account)
    updates = pending_updates(hub, account)
    connector = hub.connector(row)
    started = time.perf_counter()
    try:
        for update in updates:
            connector.set_stock([update])
    finally:
        connector.close()
    seconds = time.perf_counter() - started
    return {"items": len(updates), "calls": write_calls(woo, shop)["woo" if account == "woo" else "shop"],
            "seconds": round(seconds, 2), "items_per_s": round(len(updates) / seconds, 1) if seconds else None,
            "throttled": throttled(woo, shop)}


def start_workers(hub: Hub, count: int) -> list[subprocess.Popen[bytes]]:
    env = worker_environment(hub.redis)
    return [subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--count", "1"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(count)]


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=60)


def wait_converged(hub: Hub, woo: WooCommerceSandbox, shop: ShopifySandbox, skus: list[str]) -> float:
    started = time.perf_counter()
    while not converged(hub, woo, shop, skus):
        time.sleep(0.05)
    return time.perf_counter() - started


def figures(woo: WooCommerceSandbox, shop: ShopifySandbox, changed: list[str]) -> dict[str, Any]:
    calls = write_calls(woo, shop)
    ideal = {"woo": math.ceil(len(changed) / 100), "shop": math.ceil(len(changed) / 250)}
    return {"write_calls": calls, "ideal_calls": ideal,
            "calls_over_ideal_pct": {k: round(100 * (calls[k] - ideal[k]) / ideal[k], 1) for k in ideal},
            "throttled": throttled(woo, shop)}


def coalesced_run(hub: Hub, woo: WooCommerceSandbox, shop: ShopifySandbox, skus: list[str], changed: list[str],
                  rng: random.Random, workers: int) -> dict[str, Any]:
    """The burst lands while no worker runs (a backlog); then workers drain it."""
    reset(woo, shop)
    ingest_s = burst(hub, len(changed) * 2, changed, rng, "coalesced")
    started = time.perf_counter()
    procs = start_workers(hub, workers)
    try:
        converge_s = wait_converged(hub, woo, shop, skus)
    finally:
        stop_workers(procs)
    items = 2 * len(changed)
    return {"movements": len(changed) * 2, "changed_listings_per_account": len(changed),
            "ingest_s": round(ingest_s, 2), "converge_s": round(converge_s, 2),
            "items_per_s": round(items / max(time.perf_counter() - started, 0.001), 1), **figures(woo, shop, changed)}


def live_run(hub: Hub, woo: WooCommerceSandbox, shop: ShopifySandbox, skus: list[str], changed: list[str],
             rng: random.Random, workers: int) -> dict[str, Any]:
    """Workers run while the burst lands: pushes start within moments, so there are more, smaller batches."""
    reset(woo, shop)
    procs = start_workers(hub, workers)
    try:
        time.sleep(1.0)  # let the workers start
        ingest_s = burst(hub, len(changed) * 2, changed, rng, "live")
        converge_s = wait_converged(hub, woo, shop, skus)
    finally:
        stop_workers(procs)
    return {"movements": len(changed) * 2, "ingest_s": round(ingest_s, 2),
            "converge_after_last_movement_s": round(converge_s, 2), **figures(woo, shop, changed)}


def run(listings: int | None = None) -> dict[str, Any]:
    listings = listings or int(os.environ.get("BENCH_LISTINGS", "2000"))
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    rng = random.Random(11)
    spec = SeedSpec(products=listings, variants=1, stock=1000)
    with tempfile.TemporaryDirectory() as tmp:
        hub = make_hub(Path(tmp), redis_db=13)
        set_hub(hub)
        with WooCommerceSandbox(spec=spec) as woo, ShopifySandbox(spec=spec, plan="plus") as shop:
            connect_woocommerce(hub, woo, "woo")
            connect_shopify(hub, shop, "shop")
            setup_started = time.perf_counter()
            link_listings(hub, "woo")
            link_listings(hub, "shop")
            stock.import_stock(hub, "woo")
            drain(hub, {})
            setup_s = time.perf_counter() - setup_started
            skus = sorted(v.sku for v in _variants(hub))
            changed = rng.sample(skus, int(listings * 0.8))
            batched = coalesced_run(hub, woo, shop, skus, changed, rng, workers)
            live = live_run(hub, woo, shop, skus, changed, rng, workers)
            # the same shape of burst again, this time sent one item per call
            reset(woo, shop)
            burst(hub, len(changed) * 2, changed, rng, "baseline", schedule=False)
            naive = {"woo": baseline(hub, "woo", woo, shop), "shop": baseline(hub, "shop", woo, shop)}
        hub.close()
    return {"listings_per_account": listings, "accounts": 2, "workers": workers, "setup_s": round(setup_s, 2),
            "batched_backlog": batched, "batched_live": live, "baseline_one_call_per_item": naive}


def _variants(hub: Hub) -> list[tables.Variant]:
    with hub.db.session() as session:
        return list(session.scalars(select(tables.Variant)))
