"""Propagation under load and the hub's cost per order (issue #16, targets 1-3).

Three simulated channels (two Shopify on the standard plan, one WooCommerce), each in its own
process, sell the same 5,000 SKUs. The hub runs as a merchant runs it — webhook server, scheduler
and worker processes — once on the embedded default (SQLite, embedded Redis) with 2 workers and
once on PostgreSQL with a Redis server the benchmark starts on a free loopback port, with 4
workers. Buyers order at a steady 20 per second for 60 s, round-robin over the channels.

The 3-channel runs are the headline. A further run (`marketplace_configs`) adds the six marketplace
simulators (淘宝/天猫, 拼多多, 京东, 抖店, 快手, 微信小店): nine channels, each sale written to eight, over
500 SKUs (`marketplace_skus`): a marketplace without a multi-item stock write takes a call per item at its
documented rate and 微信小店 reads one product per call, so the first sync of 5,000 SKUs took over 20 minutes.
Each account hears of orders as its connector declares (webhooks, pushes, a pulled queue, or order
polls every `sync.order_poll_interval_s`); `latency_by_origin_ms` shows what that costs per channel.

Per run: latency from the simulator accepting an order to the last other channel's stock write
covering it (both ends from the simulators' write logs), p50/p95/p99/max; the CPU milliseconds per
order of the hub's processes and of the simulators' processes (each read from /proc while they
run, from the first order until the hub has settled); stock write calls per order and the
busiest second per account; write calls against the fewest that keep each account within the
hub's coalescing window (`sync.push_coalesce_s`) of every sale (`live_writes_over_minimum`, the
worst account); THROTTLED/429 answers.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from bench.channels import MARKETPLACES, Channels, populate, wire_events
from bench.channels import start_channels as shared_start_channels
from bench.loadgen import Sent, minimum_writes, order_latencies, steady_orders
from bench.measure import Meter, loadavg, percentiles, total_cpu
from bench.rig import HubRig
from bench.simproc import API_SOURCES, RemoteSimulator
from sandbox.catalogue import SeedSpec
from store import tables
from sync.hub.queues import REALTIME_QUEUES, all_queues

NAME = "propagation_load"
PARAMETERS: dict[str, dict[str, Any]] = {
    "full": {"skus": 5000, "rate": 20.0, "duration_s": 60.0, "settle_timeout_s": 180.0,
             "configs": [("sqlite", "embedded", 2), ("postgresql", "server", 4)],
             "marketplace_configs": [("postgresql", "server", 4)], "marketplace_skus": 500},
    # A quicker look at the hub's cost per order (for profiling and before/after comparisons):
    # the embedded default with 2 workers only, half the duration, no marketplaces.
    "profile": {"skus": 5000, "rate": 20.0, "duration_s": 30.0, "settle_timeout_s": 120.0,
                "configs": [("sqlite", "embedded", 2)], "marketplace_configs": [], "marketplace_skus": 500},
    "smoke": {"skus": 4, "rate": 4.0, "duration_s": 1.0, "settle_timeout_s": 60.0,
              # Two runs, not three: the nine-channel one covers PostgreSQL and a Redis server.
              "configs": [("sqlite", "embedded", 1)],
              "marketplace_configs": [("postgresql", "server", 1)], "marketplace_skus": 4},
}
CHANNELS = (("shop-a", "shopify"), ("shop-b", "shopify"), ("woo", "woocommerce"))
BATCH = {"shopify": 250, "woocommerce": 100}  # SKUs one stock write call can carry
# How each marketplace simulator names its stock-writing methods in its request counts.
MARKETPLACE_STOCK_WRITES = {"taobao": "quantity.update", "pinduoduo": "quantity.update", "jd": "stock.write",
                            "douyin": "syncStock", "kuaishou": "stock.update", "wechat": "stock/update"}
STOCK = 100_000  # enough that no order is refused


def start_channels(skus: int, channels: Channels) -> dict[str, RemoteSimulator]:
    return shared_start_channels(SeedSpec(products=skus, variants=1, stock=STOCK, seed=16), channels)


def prepare(rig: HubRig, channels: dict[str, RemoteSimulator]) -> None:
    """Accounts, catalogue from WooCommerce, listings on the others, stock from WooCommerce (in
    this process: setup is not what is measured)."""
    for name, simulator in channels.items():
        rig.connect(simulator, name)
    populate(rig.hub, list(channels), actor="bench")


def hub_busy(rig: HubRig) -> bool:
    """Work a sale still needs: jobs on the stock and orders queues, pending listings, unprocessed
    events (a reconciliation or planning refresh on the other queues is not waited for)."""
    redis = rig.hub.redis
    realtime = [q for q in all_queues(redis) if q.name in REALTIME_QUEUES]
    queued = sum(len(q) for q in realtime)
    running = sum(StartedJobRegistry(queue=q).count for q in realtime)
    with rig.hub.db.session() as session:
        pending = session.scalar(select(func.count()).select_from(tables.Listing)
                                 .where(tables.Listing.push_pending.is_(True))) or 0
        events = session.scalar(select(func.count()).select_from(tables.WebhookEvent)
                                .where(tables.WebhookEvent.status.in_(tables.EVENTS_UNDONE))) or 0
    return bool(queued or running or pending or events)


def settle(rig: HubRig, meter: Meter, channels: dict[str, RemoteSimulator], sent: list[Sent],
           timeout_s: float) -> float:
    """Wait until every order has reached every other channel and the hub is idle, or the hub
    has been idle for 10 s with orders still unreached, or `timeout_s`; seconds waited."""
    started = time.monotonic()
    idle_since: float | None = None
    while time.monotonic() - started < timeout_s:
        time.sleep(1.0)
        meter.sample()
        if hub_busy(rig):
            idle_since = None
            continue
        idle_since = idle_since or time.monotonic()
        _, unreached = order_latencies(sent, {name: s.writes() for name, s in channels.items()})
        if unreached == 0 or time.monotonic() - idle_since > 10:
            break
    return time.monotonic() - started


def stock_write_calls(platform: str, requests: dict[str, Any]) -> int:
    """Stock-writing API calls: Shopify's SetQuantities mutation (the hub's) and REST
    inventory_levels/set; WooCommerce's product/variation PUTs and batch POSTs."""
    if platform == "shopify":
        operations = requests.get("by_operation", {})
        rest = sum(n for route, n in requests.get("by_route", {}).items() if "inventory_levels/set" in route)
        return int(operations.get("SetQuantities", 0)) + rest
    if platform in MARKETPLACE_STOCK_WRITES:
        counts = requests.get("by_method") or requests.get("by_api") or requests.get("by_route") or {}
        return sum(int(n) for name, n in counts.items() if MARKETPLACE_STOCK_WRITES[platform] in name)
    return sum(n for route, n in requests.get("by_route", {}).items()
               if route.split(" ")[0] in {"PUT", "POST"} and route.split(" ")[1].startswith("products"))


def busiest_second(log: list[dict[str, Any]]) -> int:
    """API write entries in the busiest wall-clock second (an upper bound on calls per second)."""
    seconds = Counter(int(float(e["ts"])) for e in log if e.get("source") in API_SOURCES)
    return max(seconds.values(), default=0)


def by_origin(sent: list[Sent], logs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float | None]]:
    """p50 and p99 of the orders placed on each channel: a channel heard of by polling shows its poll
    interval here, one with webhooks or pushes the hub's own latency."""
    spread = {}
    for name in logs:
        latencies, _ = order_latencies([s for s in sent if s.channel == name], logs)
        found = percentiles(latencies)
        spread[name] = {"p50": found["p50"], "p99": found["p99"]}
    return spread


def one_run(database: str, redis: str, workers: int, p: dict[str, Any], rng: random.Random,
            channel_list: Channels = CHANNELS, sku_count: int | None = None) -> dict[str, Any]:
    sku_count = sku_count or int(p["skus"])
    channels = start_channels(sku_count, channel_list)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp, \
                HubRig(Path(tmp), database=database, redis=redis) as rig:
            prepare(rig, channels)
            rig_window = rig.hub.settings.sync.push_coalesce_s
            skus = [f"MS-{n:04d}-1" for n in range(1, sku_count + 1)]
            meter = Meter()
            meter.add("hub:webserver", rig.start_webserver().pid)
            meter.add("hub:scheduler", rig.start_scheduler().pid)
            for n, process in enumerate(rig.start_workers(workers)):
                meter.add(f"hub:worker{n}", process.pid)
            for name, simulator in channels.items():
                meter.add(f"sim:{name}", simulator.pid)
            assert rig.webhook_base is not None
            wired = wire_events(rig.hub, rig.webhook_base, channels)
            # Their start (imports, warm-up: seconds of CPU each) is not a cost per order: measure
            # from when every worker has registered. A fixed 2 s sleep let it into the figure.
            rig.wait_for_workers(workers)
            time.sleep(1.0)
            for simulator in channels.values():
                simulator.reset_counters()
            load_before = loadavg()
            meter.mark()
            started = time.monotonic()
            sent = steady_orders(list(channels.items()), skus, float(p["rate"]), float(p["duration_s"]), rng)
            load_seconds = time.monotonic() - started
            settle_s = settle(rig, meter, channels, sent, float(p["settle_timeout_s"]))
            readings = meter.read()
            load_after = loadavg()
            logs = {name: simulator.writes() for name, simulator in channels.items()}
            requests = {name: simulator.requests() for name, simulator in channels.items()}
    finally:
        for simulator in channels.values():
            simulator.stop()
    accepted = [s for s in sent if s.status < 300]
    latencies, unreached = order_latencies(sent, logs)
    orders = max(1, len(accepted))
    writes = {name: stock_write_calls(platform, requests[name]) for name, platform in channel_list}
    spread = percentiles(latencies)
    window = max(rig_window, 0.001)  # the hub's coalescing window: the latency the writes are chosen for
    minimum = {name: minimum_writes(sent, name, window, BATCH[platform]) for name, platform in channel_list
               if platform in BATCH}  # a marketplace's fewest calls depend on its items' SKUs: not claimed
    return {
        "database": database, "redis": redis, "workers": workers, "skus": sku_count, "orders_sent": len(sent),
        "orders_accepted": len(accepted), "orders_per_s": round(len(sent) / load_seconds, 2),
        "orders_unreached": unreached, "load_s": round(load_seconds, 2), "settle_s": round(settle_s, 2),
        "p50_ms": spread["p50"], "p95_ms": spread["p95"], "p99_ms": spread["p99"], "max_ms": spread["max"],
        "hub_cpu_ms_per_order": round(1000 * total_cpu(readings, "hub:") / orders, 1),
        "simulator_cpu_ms_per_order": round(1000 * total_cpu(readings, "sim:") / orders, 1),
        "writes_per_order": round(sum(writes.values()) / orders, 2), "write_calls": writes,
        "coalesce_window_s": rig_window, "minimum_write_calls": minimum,
        "live_writes_over_minimum": round(max(writes[n] / max(minimum[n], 1) for n in minimum), 2),
        "channels": [list(c) for c in channel_list], "events_wired": wired,
        "latency_by_origin_ms": by_origin(sent, logs),
        "busiest_second_write_entries": {name: busiest_second(log) for name, log in logs.items()},
        "throttled": {name: int(r.get("throttled", 0)) + int(r.get("by_status", {}).get("429", 0))
                      for name, r in requests.items()},
        "points_charged": {name: r.get("points_charged") for name, r in requests.items() if "points_charged" in r},
        "processes": readings, "loadavg_before": load_before,
        "loadavg_after": load_after, "latencies_ms": [round(x, 1) for x in latencies],
        "api_requests": {name: r.get("total") for name, r in requests.items()},
        "api_requests_by_kind": {name: r.get("by_operation") or r.get("by_route") for name, r in requests.items()},
    }


def run(size: str = "full") -> dict[str, Any]:
    p = PARAMETERS[size]
    rng = random.Random(16)
    runs = [one_run(database, redis, workers, p, rng) for database, redis, workers in p["configs"]]
    runs += [one_run(database, redis, workers, p, rng, CHANNELS + MARKETPLACES, int(p["marketplace_skus"]))
             for database, redis, workers in p["marketplace_configs"]]
    keys = ("orders_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms", "hub_cpu_ms_per_order",
            "simulator_cpu_ms_per_order", "writes_per_order", "live_writes_over_minimum")
    first = runs[0]
    figures: dict[str, Any] = {k: first[k] for k in keys}
    figures["by_config"] = {config_name(r): {
        **{k: r[k] for k in keys}, "orders_unreached": r["orders_unreached"], "throttled": r["throttled"],
        "loadavg_before": r["loadavg_before"], "loadavg_after": r["loadavg_after"]} for r in runs}
    figures["headline_config"] = next(iter(figures["by_config"]))
    return {"parameters": {**{k: v for k, v in p.items() if not k.endswith("configs")},
                           "configs": [list(c) for c in p["configs"]],
                           "marketplace_configs": [list(c) for c in p["marketplace_configs"]],
                           "channels": [list(c) for c in CHANNELS], "marketplaces": [list(c) for c in MARKETPLACES],
                           "shopify_plan": "standard", "order_quantity": 1, "webhooks": True},
            "figures": figures, "samples": runs}


def config_name(run: dict[str, Any]) -> str:
    extra = "+marketplaces" if len(run["channels"]) > len(CHANNELS) else ""
    return f"{run['database']}+{run['redis']}-redis/{run['workers']}w{extra}"
