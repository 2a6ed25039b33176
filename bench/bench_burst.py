"""A live-stream burst on 抖店 (issue #13): 2,000 orders in 60 s for 20 SKUs on the Douyin simulator,
three other channels connected (Shopify standard plan, WooCommerce, and 快手 — a delta-only
platform), each simulator in its own process, the hub on the embedded default with 2 workers.

Douyin pushes each order event to the hub's webhook server (at-least-once: 10 % of pushes are sent
twice, as the platform warns). Reported: latency from a Douyin sale to the last other channel's
stock write covering it (from the simulators' write logs), p50/p95/p99/max; delta writes the hub
sent (快手's and Douyin's stock-update entries) next to the minimum (one per SKU whose stock
changed on that channel); duplicates applied (orders the hub counted more than once: it must be 0);
and the final stock of every SKU on every channel next to what the hub's ledger publishes (they
must be equal).
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.bench_propagation_load import busiest_second, settle
from bench.loadgen import BUYER_SOURCES, order_latencies, steady_orders
from bench.measure import Meter, loadavg, percentiles, total_cpu
from bench.rig import HubRig
from bench.simproc import RemoteSimulator, hub_writes, written_quantity
from sandbox.catalogue import SeedSpec
from store import tables
from sync.catalog.importing import import_catalog, refresh_listings
from sync.service.processes import webhook_url
from sync.service.workers import run_worker
from sync.stock.operations import import_stock

NAME = "burst"
PARAMETERS: dict[str, dict[str, Any]] = {
    "full": {"skus": 20, "orders": 2000, "duration_s": 60.0, "workers": 2, "settle_timeout_s": 240.0},
    "smoke": {"skus": 4, "orders": 4, "duration_s": 1.0, "workers": 1, "settle_timeout_s": 90.0},
}
ORIGIN = ("douyin", "douyin")
OTHERS = (("shop", "shopify"), ("woo", "woocommerce"), ("ks", "kuaishou"))
DELTA_CHANNELS = ("douyin", "ks")
STOCK = 1000  # per SKU and channel: a 2,000-order burst over 20 SKUs sells ~100 of each
PUSH_DUPLICATE_RATE = 0.1


def start_channels(skus: int) -> dict[str, RemoteSimulator]:
    spec = SeedSpec(products=skus, variants=1, stock=STOCK, seed=13)
    started: dict[str, RemoteSimulator] = {}
    try:
        for name, platform in (ORIGIN, *OTHERS):
            options: dict[str, Any] = {"name": name, "plan": "standard"} if platform == "shopify" else {}
            started[name] = RemoteSimulator(platform, **options)
            started[name].seed(spec)
        started["douyin"].configure({"push_duplicate_rate": PUSH_DUPLICATE_RATE, "seed": 13})
    except BaseException:
        for simulator in started.values():
            simulator.stop()
        raise
    return started


def prepare(rig: HubRig, channels: dict[str, RemoteSimulator]) -> None:
    """Accounts, catalogue from WooCommerce, listings on the others, stock from WooCommerce."""
    for name, simulator in channels.items():
        rig.connect(simulator, name)
    import_catalog(rig.hub, "woo", actor="bench")
    for name in channels:
        if name != "woo":
            refresh_listings(rig.hub, name, actor="bench")
    import_stock(rig.hub, "woo")
    run_worker(rig.hub.redis, burst=True)


def connect_events(rig: HubRig, channels: dict[str, RemoteSimulator]) -> None:
    """Webhooks for Shopify and WooCommerce, the console push URL for Douyin and Kuaishou."""
    assert rig.webhook_base is not None
    rig.register_webhooks([(p, n) for n, p in OTHERS if p in ("shopify", "woocommerce")])
    for name, platform in (ORIGIN, *OTHERS):
        if platform in ("douyin", "kuaishou"):
            channels[name].set_push_url(webhook_url(rig.webhook_base, platform, name))


def final_quantities(log: list[dict[str, Any]]) -> dict[str, int]:
    """Each SKU's stock after the last logged change of any source (buyer, hub, merchant)."""
    last: dict[str, int] = {}
    for entry in log:
        quantity = written_quantity(entry)
        if entry.get("sku") and quantity is not None:
            last[str(entry["sku"])] = quantity
    return last


def hub_view(rig: HubRig) -> tuple[dict[tuple[str, str], int | None], dict[str, int], dict[str, int]]:
    """(account, sku) → the quantity the hub publishes; per SKU the units the ledger commits or
    ships for orders; per SKU the order lines the hub holds."""
    with rig.hub.db.session() as session:
        published = {(account, sku): desired for account, sku, desired in session.execute(
            select(tables.Account.name, tables.Variant.sku, tables.Listing.desired_quantity)
            .join(tables.Listing, tables.Listing.account_id == tables.Account.id)
            .join(tables.Variant, tables.Variant.id == tables.Listing.variant_id))}
        movement = tables.StockMovement
        sold = {sku: int(-(total or 0)) for sku, total in session.execute(
            select(tables.Variant.sku, func.sum(movement.on_hand_delta - movement.committed_delta))
            .join(tables.StockMovement, tables.StockMovement.variant_id == tables.Variant.id)
            .where(tables.StockMovement.reason.like("order%"))
            .group_by(tables.Variant.sku))}
        orders = session.scalar(select(func.count()).select_from(tables.Order)) or 0
    return published, sold, {"orders": int(orders)}


def needed_writes(log: list[dict[str, Any]], final: dict[str, int], skus: list[str]) -> int:
    """The fewest hub writes that leave the channel as it ended: one per SKU whose final stock is not
    what its own buyers alone would have left (the origin's sales need no write from the hub)."""
    own = Counter({sku: 0 for sku in skus})
    for entry in log:
        if entry.get("source") in BUYER_SOURCES and entry.get("sku") and entry.get("change") is not None:
            own[str(entry["sku"])] += int(entry["change"])
    return sum(1 for sku in skus if final.get(sku, STOCK) != STOCK + own[sku])


def delta_writes(log: list[dict[str, Any]]) -> tuple[int, int]:
    """(hub stock writes logged, SKUs whose stock the hub changed at least once)."""
    writes = [e for e in hub_writes(log) if e.get("kind", "stock") == "stock"]
    return len(writes), len({e["sku"] for e in writes})


def one_run(p: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    channels = start_channels(int(p["skus"]))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-burst-") as tmp, HubRig(Path(tmp)) as rig:
            prepare(rig, channels)
            skus = [f"MS-{n:04d}-1" for n in range(1, int(p["skus"]) + 1)]
            meter = Meter()
            meter.add("hub:webserver", rig.start_webserver().pid)
            meter.add("hub:scheduler", rig.start_scheduler().pid)
            for n, process in enumerate(rig.start_workers(int(p["workers"]))):
                meter.add(f"hub:worker{n}", process.pid)
            for name, simulator in channels.items():
                meter.add(f"sim:{name}", simulator.pid)
            connect_events(rig, channels)
            time.sleep(2.0)  # workers up
            for simulator in channels.values():
                simulator.reset_counters()
            load_before = loadavg()
            meter.mark()
            rate = float(p["orders"]) / float(p["duration_s"])
            started = time.monotonic()
            sent = steady_orders([("douyin", channels["douyin"])], skus, rate, float(p["duration_s"]), rng)
            load_seconds = time.monotonic() - started
            settle_s = settle(rig, meter, channels, sent, float(p["settle_timeout_s"]))
            readings = meter.read()
            load_after = loadavg()
            logs = {name: simulator.writes() for name, simulator in channels.items()}
            requests = {name: simulator.requests() for name, simulator in channels.items()}
            published, hub_sold, held = hub_view(rig)
    finally:
        for simulator in channels.values():
            simulator.stop()
    return summarise(p, sent, logs, requests, published, hub_sold, held, readings, skus, {
        "load_s": round(load_seconds, 2), "settle_s": round(settle_s, 2), "loadavg_before": load_before,
        "loadavg_after": load_after})


def summarise(p: dict[str, Any], sent: list[Any], logs: dict[str, list[dict[str, Any]]],
              requests: dict[str, dict[str, Any]], published: dict[tuple[str, str], int | None],
              hub_sold: dict[str, int], held: dict[str, int], readings: dict[str, Any], skus: list[str],
              timing: dict[str, Any]) -> dict[str, Any]:
    accepted = [s for s in sent if s.status < 300]
    latencies, unreached = order_latencies(sent, logs)
    spread = percentiles(latencies)
    sold = Counter(s.sku for s in accepted)
    duplicates = sum(max(0, hub_sold.get(sku, 0) - sold.get(sku, 0)) for sku in skus)
    missing = sum(max(0, sold.get(sku, 0) - hub_sold.get(sku, 0)) for sku in skus)
    finals = {name: final_quantities(log) for name, log in logs.items()}
    mismatches = [{"channel": name, "sku": sku, "channel_quantity": finals[name].get(sku, STOCK),
                   "hub_published": published.get((name, sku))}
                  for name in logs for sku in skus if finals[name].get(sku, STOCK) != published.get((name, sku))]
    deltas = {name: delta_writes(logs[name]) for name in DELTA_CHANNELS}
    orders = max(1, len(accepted))
    return {
        **timing, "orders_sent": len(sent), "orders_accepted": len(accepted),
        "orders_per_s": round(len(sent) / max(timing["load_s"], 0.001), 2), "orders_unreached": unreached,
        "p50_ms": spread["p50"], "p95_ms": spread["p95"], "p99_ms": spread["p99"], "max_ms": spread["max"],
        "delta_writes_sent": {name: sent_ for name, (sent_, _) in deltas.items()},
        "delta_writes_minimum": {name: needed_writes(logs[name], finals[name], skus) for name in DELTA_CHANNELS},
        "duplicates_applied": duplicates, "orders_missing_in_ledger": missing, "hub_orders": held["orders"],
        "final_stock_mismatches": mismatches, "final_stock_equal": not mismatches,
        "hub_cpu_ms_per_order": round(1000 * total_cpu(readings, "hub:") / orders, 1),
        "simulator_cpu_ms_per_order": round(1000 * total_cpu(readings, "sim:") / orders, 1),
        "busiest_second_write_entries": {name: busiest_second(log) for name, log in logs.items()},
        "throttled": {name: int(r.get("throttled", 0)) + int(r.get("by_status", {}).get("429", 0))
                      for name, r in requests.items()},
        "api_requests": {name: r.get("total") for name, r in requests.items()},
        "processes": readings, "latencies_ms": [round(x, 1) for x in latencies],
    }


def run(size: str = "full") -> dict[str, Any]:
    p = PARAMETERS[size]
    sample = one_run(p, random.Random(13))
    keys = ("orders_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms", "delta_writes_sent", "delta_writes_minimum",
            "duplicates_applied", "final_stock_equal", "orders_unreached", "hub_cpu_ms_per_order",
            "simulator_cpu_ms_per_order", "throttled", "loadavg_before", "loadavg_after")
    return {"parameters": {**p, "origin": list(ORIGIN), "others": [list(c) for c in OTHERS], "stock": STOCK,
                           "push_duplicate_rate": PUSH_DUPLICATE_RATE, "database": "sqlite", "redis": "embedded",
                           "shopify_plan": "standard", "order_quantity": 1},
            "figures": {k: sample[k] for k in keys}, "samples": [sample]}
