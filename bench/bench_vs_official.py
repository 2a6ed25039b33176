"""Against what a merchant would otherwise run (issue #16, target 6).

N changed SKUs (1,000 and 10,000; smoke 1 and 4) pushed to a Shopify simulator (standard plan)
and a WooCommerce simulator, both in their own processes with one clock factor for every
contender, in one run:
- marketsync: `stock receive` of the changes, then 2 worker processes push until both channels
  show the hub's numbers;
- `ShopifyAPI` REST `InventoryLevel.set` per SKU; a naive GraphQL loop, one mutation per SKU;
- the `woocommerce` package's `PUT products/<id>` per product (see `bench.contenders`).
Per contender and channel: calls, cost points charged (Shopify GraphQL), THROTTLED/429 answers and
seconds (wall; `simulated_s` is wall x clock factor, what a real store's limits would take).

The clock factor speeds up the simulators' rate limits, not the hub: a contender bound by the limits
gets 20x faster, marketsync (bound by its own CPU, never waiting for the budget) does not. So
`less_wall_than_rest_x` at factor 20 understates what a merchant sees; `real_speed` measures it at
the real store's own speed (factor 1) for 1,000 SKUs, marketsync against per-SKU REST.
"""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench import contenders
from bench.bench_propagation_load import stock_write_calls
from bench.measure import loadavg
from bench.rig import HubRig
from bench.simproc import RemoteSimulator
from sandbox.catalogue import SeedSpec
from store import tables
from sync.catalog.importing import import_catalog, refresh_listings
from sync.service.workers import run_worker
from sync.stock.operations import import_stock, receive

NAME = "vs_official"
SIZES = {"full": (1_000, 10_000), "smoke": (1, 4)}
CLOCK_FACTOR = 20.0
# At the real store's own speed (clock factor 1), marketsync against per-SKU REST only: the rate-limited
# contender takes ~8 minutes for 1,000 SKUs, so the other contenders are left to the accelerated runs.
REAL_SPEED_SIZE = {"full": 1_000, "smoke": 2}
STOCK = 500


def counts(simulator: RemoteSimulator, platform: str, seconds: float,
           clock_factor: float = CLOCK_FACTOR) -> dict[str, Any]:
    requests = simulator.requests()
    result = {"calls": int(requests["total"]), "write_calls": stock_write_calls(platform, requests),
              "throttled": simulator.throttled(), "seconds": round(seconds, 2),
              "simulated_s": round(seconds * clock_factor, 1)}
    if platform == "shopify":
        result["points"] = int(requests.get("points_charged", 0))
    return result


def marketsync(rig: HubRig, shop: RemoteSimulator, woo: RemoteSimulator, skus: list[str], delta: int,
               workdir: Path, clock_factor: float = CLOCK_FACTOR) -> tuple[dict[str, Any], float]:
    """Per channel: calls, points, throttled and seconds from the receive until no listing is
    pending; and the seconds the 2 workers took to register (waited for, not counted)."""
    path = workdir / f"receipt-{delta}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "location", "quantity", "reference"])
        writer.writerows([sku, "default", delta, f"vs-official-{delta}"] for sku in skus)
    rig.start_workers(2)
    workers_up_s = rig.wait_for_workers(2)  # their start is not part of the push
    for simulator in (shop, woo):
        simulator.reset_counters()
    started = time.perf_counter()
    receive(rig.hub, path)
    finished: dict[str, float] = {}
    while len(finished) < 2 and time.perf_counter() - started < 3600:
        time.sleep(0.2)
        with rig.hub.db.session() as session:
            pending = dict(session.execute(
                select(tables.Account.name, func.count()).join(tables.Listing)
                .where(tables.Listing.push_pending.is_(True)).group_by(tables.Account.name)).all())
        for name in ("shop", "woo"):
            if name not in finished and not pending.get(name):
                finished[name] = time.perf_counter() - started
    rig.stop_processes()
    return {"shopify": counts(shop, "shopify", finished.get("shop", float("nan")), clock_factor),
            "woocommerce": counts(woo, "woocommerce", finished.get("woo", float("nan")), clock_factor)}, \
        round(workers_up_s, 2)


def one_size(n: int, workdir: Path, clock_factor: float = CLOCK_FACTOR, *,
             rest_only: bool = False) -> dict[str, Any]:
    spec = SeedSpec(products=n, variants=1, stock=STOCK, seed=16)
    with RemoteSimulator("shopify", name=f"vs-{n}-{clock_factor:g}", plan="standard",
                         clock_factor=clock_factor) as shop, \
            RemoteSimulator("woocommerce", clock_factor=clock_factor) as woo, \
            HubRig(workdir / f"hub-{n}-{clock_factor:g}") as rig:
        shop.seed(spec)
        woo.seed(spec)
        rig.connect(shop, "shop")
        rig.connect(woo, "woo")
        import_catalog(rig.hub, "woo", actor="bench")
        refresh_listings(rig.hub, "shop", actor="bench")
        import_stock(rig.hub, "woo")
        run_worker(rig.hub.redis, burst=True)
        skus = [f"MS-{k:04d}-1" for k in range(1, n + 1)]
        state = shop.state()
        location = state["locations"][0]["id"]
        items = {v["sku"]: v["inventory_item_id"] for v in state["variants"]}
        woo_ids = {p["sku"]: p["id"] for p in woo.state()["products"]}
        load_before = loadavg()
        ours, workers_up_s = marketsync(rig, shop, woo, skus, 3, workdir, clock_factor)
        results: dict[str, Any] = {"marketsync": ours}

        shop.reset_counters()
        rest_items = [(_number(location), int(items[s]), STOCK - 1) for s in skus]
        results["shopify_rest_per_sku"] = {"shopify": counts(shop, "shopify", contenders.shopify_rest_per_sku(
            shop.info, rest_items), clock_factor)}
        if rest_only:
            return {"changed_skus": n, "clock_factor": clock_factor, "contenders": results,
                    "workers_up_s": workers_up_s, "loadavg_before": load_before, "loadavg_after": loadavg()}
        shop.reset_counters()
        gql_items = [(location, _gid("InventoryItem", items[s]), STOCK - 2) for s in skus]
        results["graphql_per_sku"] = {"shopify": counts(shop, "shopify", contenders.graphql_per_sku(
            shop.info, gql_items, CLOCK_FACTOR))}
        woo.reset_counters()
        put_items = [(int(woo_ids[s]), STOCK - 1) for s in skus]
        results["woocommerce_put_per_product"] = {"woocommerce": counts(
            woo, "woocommerce", contenders.woocommerce_put_per_product(woo.info, put_items))}
        return {"changed_skus": n, "clock_factor": clock_factor, "contenders": results, "workers_up_s": workers_up_s,
                "loadavg_before": load_before, "loadavg_after": loadavg()}


def _number(gid_or_id: Any) -> int:
    return int(str(gid_or_id).rsplit("/", 1)[-1])


def _gid(kind: str, value: Any) -> str:
    return value if str(value).startswith("gid://") else f"gid://shopify/{kind}/{value}"


def run(size: str = "full") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-vs-") as tmp:
        runs = [one_size(n, Path(tmp)) for n in SIZES[size]]
        real = one_size(REAL_SPEED_SIZE[size], Path(tmp), 1.0, rest_only=True)
    largest = runs[-1]["contenders"]
    real_ours = real["contenders"]["marketsync"]["shopify"]
    real_rest = real["contenders"]["shopify_rest_per_sku"]["shopify"]
    ours = largest["marketsync"]
    figures: dict[str, Any] = {
        "changed_skus": runs[-1]["changed_skus"],
        "contenders": {name: {channel: {k: v.get(k) for k in ("calls", "points", "throttled", "seconds")}
                              for channel, v in result.items()} for name, result in largest.items()},
        "fewer_calls_than_rest_x": _ratio(largest["shopify_rest_per_sku"]["shopify"]["calls"],
                                          ours["shopify"]["calls"]),
        "less_wall_than_rest_x": _ratio(largest["shopify_rest_per_sku"]["shopify"]["seconds"],
                                        ours["shopify"]["seconds"]),
        "real_speed": {"changed_skus": real["changed_skus"], "marketsync_s": real_ours["seconds"],
                       "rest_per_sku_s": real_rest["seconds"], "rest_throttled": real_rest["throttled"],
                       "marketsync_throttled": real_ours["throttled"],
                       "less_wall_than_rest_x": _ratio(real_rest["seconds"], real_ours["seconds"])},
    }
    return {"parameters": {"sizes": list(SIZES[size]), "clock_factor": CLOCK_FACTOR,
                           "real_speed_size": REAL_SPEED_SIZE[size], "shopify_plan": "standard",
                           "workers": 2, "database": "sqlite", "woocommerce_auth": "OAuth 1.0a over loopback http"},
            "figures": figures, "samples": runs}


def _ratio(theirs: float, ours: float) -> float | None:
    return round(theirs / ours, 1) if ours else None
