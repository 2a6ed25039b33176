"""Catalogue import at scale (issue #16, target 4).

A Shopify simulator in its own process holds N variants (4 per product); the hub runs
`marketsync catalog import`, then `marketsync stock import`, each as its own process, and after
each a `marketsync worker --burst` drains the jobs the command enqueued. Every hub process is
measured by the kernel (CPU seconds, peak RSS). On SQLite and on PostgreSQL; sizes 10,000 and
100,000 (smoke: 1 and 4).

Figures: the hub's CPU seconds per 10,000 variants (all four processes), and beside it
`command_cpu_s_per_10k`, the two import commands' own (without the burst workers, which here
only start, find the few jobs the commands enqueued and exit; interpreter start and imports
still counted, ~1.2-1.6 CPU-s in each command), peak RSS at each size
(the largest hub process), variants per second end to end (wall time of the four), and API calls
against the minimum: a paged read returns at most 250 records (Shopify's largest page), so one
read of the catalogue and one of the stock levels need 2 x ⌈N ÷ 250⌉ calls.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.measure import CommandResult, loadavg
from bench.rig import HubRig
from bench.simproc import RemoteSimulator
from sandbox.catalogue import SeedSpec
from store import tables

NAME = "import"
SIZES = {"full": (10_000, 100_000), "smoke": (1, 4)}
DATABASES = ("sqlite", "postgresql")
PAGE = 250
PLAN = "plus"  # the cost budget refills at 1,000 points/s, so the reads are not mostly waiting
CLOCK_FACTOR = 1.0


def seed_spec(variants: int) -> SeedSpec:
    per_product = 4 if variants >= 4 else 1
    return SeedSpec(products=max(1, variants // per_product), variants=per_product, stock=10, seed=16)


def minimum_calls(variants: int) -> int:
    return 2 * math.ceil(variants / PAGE)


def calls(simulator: RemoteSimulator) -> int:
    return int(simulator.requests()["total"])


def step(rig: HubRig, simulator: RemoteSimulator, *args: str) -> dict[str, Any]:
    """One hub command, then a burst worker for what it enqueued; both measured."""
    simulator.reset_counters()
    command = rig.cli(*args)
    drain = rig.cli("worker", "--burst")
    result: dict[str, Any] = {"command": command.summary(), "drain": drain.summary(), "api_calls": calls(simulator),
                              "throttled": simulator.throttled()}
    failed = [r for r in (command, drain) if r.returncode != 0]
    if failed:
        result["error"] = _tail(failed[0])
    return result


def _tail(result: CommandResult) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    return "\n".join(lines[-3:])[-600:]


def one_run(database: str, variants: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp, \
            RemoteSimulator("shopify", name=f"import-{variants}", plan=PLAN, clock_factor=CLOCK_FACTOR) as shop, \
            HubRig(Path(tmp), database=database) as rig:
        shop.seed(seed_spec(variants))
        rig.connect(shop, "shop")
        load_before = loadavg()
        catalog = step(rig, shop, "catalog", "import", "--from", "shop", "--json")
        stock = step(rig, shop, "stock", "import", "--from", "shop", "--json")
        with rig.hub.db.session() as session:
            listed = session.scalar(select(func.count()).select_from(tables.Listing)
                                    .where(tables.Listing.variant_id.is_not(None))) or 0
            levels = session.scalar(select(func.count()).select_from(tables.StockLevel)) or 0
    steps = [catalog["command"], catalog["drain"], stock["command"], stock["drain"]]
    cpu = sum(s["cpu_s"] for s in steps)
    own = catalog["command"]["cpu_s"] + stock["command"]["cpu_s"]  # the two commands, not the burst workers
    wall = sum(s["wall_s"] for s in steps)
    api = catalog["api_calls"] + stock["api_calls"]
    ok = "error" not in catalog and "error" not in stock and listed == variants
    return {"database": database, "variants": variants, "ok": ok, "listings_mapped": listed, "stock_levels": levels,
            "hub_cpu_s": round(cpu, 2), "cpu_s_per_10k": round(cpu * 10_000 / variants, 2),
            "command_cpu_s": round(own, 2), "command_cpu_s_per_10k": round(own * 10_000 / variants, 2),
            "peak_rss_mb": max(s["peak_rss_mb"] for s in steps), "wall_s": round(wall, 2),
            "variants_per_s": round(variants / wall, 1) if wall else None, "api_calls": api,
            "minimum_calls": minimum_calls(variants), "calls_over_minimum": round(api / minimum_calls(variants), 2),
            "loadavg_before": load_before, "loadavg_after": loadavg(), "catalog_import": catalog,
            "stock_import": stock}


def figures_from(runs: list[dict[str, Any]], sizes: tuple[int, ...]) -> dict[str, Any]:
    """The headline figures: each the worst over the databases, from runs that completed (a run
    that failed or was stopped keeps its numbers in `by_database`, marked `ok: false`)."""
    small, large = sizes
    done = [r for r in runs if r["ok"]]

    def worst(values: list[float], pick: Any = max) -> float | None:
        return pick(values) if values else None

    at_large = [r for r in done if r["variants"] == large]
    return {
        "cpu_s_per_10k": worst([r["cpu_s_per_10k"] for r in at_large]),
        "command_cpu_s_per_10k": worst([r["command_cpu_s_per_10k"] for r in at_large]),
        f"rss_mb_{_label(small)}": worst([r["peak_rss_mb"] for r in done if r["variants"] == small]),
        f"rss_mb_{_label(large)}": worst([r["peak_rss_mb"] for r in at_large]),
        "variants_per_s": worst([r["variants_per_s"] or 0 for r in at_large], min),
        "calls_over_minimum": worst([r["calls_over_minimum"] for r in at_large]),
        f"at_{_label(small)}": {
            "cpu_s_per_10k": worst([r["cpu_s_per_10k"] for r in done if r["variants"] == small]),
            "command_cpu_s_per_10k": worst([r["command_cpu_s_per_10k"] for r in done if r["variants"] == small]),
            "variants_per_s": worst([r["variants_per_s"] or 0 for r in done if r["variants"] == small], min),
            "calls_over_minimum": worst([r["calls_over_minimum"] for r in done if r["variants"] == small])},
        "all_ok": len(done) == len(runs),
        "by_database": {db: {str(r["variants"]): {k: r[k] for k in (
            "ok", "cpu_s_per_10k", "command_cpu_s_per_10k", "peak_rss_mb", "variants_per_s", "api_calls",
            "minimum_calls", "calls_over_minimum")} for r in runs if r["database"] == db} for db in DATABASES},
    }


def run(size: str = "full") -> dict[str, Any]:
    sizes = SIZES[size]
    runs = [one_run(database, variants) for database in DATABASES for variants in sizes]
    return {"parameters": {"sizes": list(sizes), "databases": list(DATABASES), "variants_per_product": 4,
                           "plan": PLAN, "clock_factor": CLOCK_FACTOR, "page": PAGE},
            "figures": figures_from(runs, sizes), "samples": runs}


def _label(variants: int) -> str:
    return f"{variants // 1000}k" if variants >= 1000 else str(variants)
