"""Ledger throughput (issue #16, target 5).

A WooCommerce simulator (its own process) holds 10,000 simple products; the hub imports them
(setup, not measured). Then, on SQLite and on PostgreSQL:
- `marketsync stock receive` of a 10,000-row receipt CSV, its own process, measured by the kernel
  (wall, CPU seconds, peak RSS: interpreter start and imports included);
- the same receive of another 10,000-row receipt (other references, the same SKUs and location)
  timed around the library call the command makes (`bench.ledger_receive`), in its own process;
- concurrent order ingests: 1, 2 and 4 processes (`bench.ledger_worker`) ingesting one-line
  orders through `sync.order_ingest.ingest_order`, a transaction per order as the order jobs do;
- the physical limit: a raw DB-API `executemany` of 10,000 rows shaped like `stock_movements`
  into a table of the same columns in the same database.
The raw insert and the timed receive alternate, three of each (`samples`), and the ratio is of
their medians; every sample is kept.
`ratio_to_raw` is the timed receive's movements per second over the raw rows per second: both
sides timed from the first statement's input in memory to the commit, the same 10,000 rows
(variant, location, quantity 5) into the same database with the same indexes and foreign keys.
The receive does more than the raw insert, as it must (the CSV read and checked, SKUs looked up,
references checked, levels moved, desired quantities recomputed, pushes asked for): that is what
the ratio measures. `ratio_to_raw_cli` divides the whole command's rate instead; at 10,000 rows
its ≈ 1 to 2 s of interpreter start and imports (the same for a 1-row file) dominate it.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.measure import CommandResult, loadavg, run_command
from bench.rig import HubRig
from bench.simproc import RemoteSimulator
from sandbox.catalogue import SeedSpec
from store import tables
from sync.catalog.importing import import_catalog

NAME = "ledger"
PARAMETERS: dict[str, dict[str, Any]] = {"full": {"rows": 10_000, "orders": 2_000, "workers": [1, 2, 4], "samples": 3},
              "smoke": {"rows": 4, "orders": 4, "workers": [1, 2], "samples": 2}}
DATABASES = ("sqlite", "postgresql")


def receipt(path: Path, skus: list[str], rows: int, prefix: str = "receipt") -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "location", "quantity", "reference"])
        for n in range(rows):
            writer.writerow([skus[n % len(skus)], "default", 5, f"{prefix}-{n // len(skus)}"])


def movement_count(rig: HubRig) -> int:
    with rig.hub.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(tables.StockMovement)) or 0)


def concurrent_ingest(rig: HubRig, workers: int, orders: int, first: int) -> dict[str, Any]:
    before = movement_count(rig)
    share = orders // workers
    results: list[CommandResult] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        args = [sys.executable, "-m", "bench.ledger_worker", "woo", str(first + n * share), str(share)]
        result = run_command(args, rig.env)
        with lock:
            results.append(result)

    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    movements = movement_count(rig) - before
    errors = [r.stderr.strip().splitlines()[-1:] for r in results if r.returncode != 0]
    return {"workers": workers, "orders": share * workers, "movements": movements, "wall_s": round(wall, 2),
            "movements_per_s": round(movements / wall, 1), "cpu_s": round(sum(r.cpu_s for r in results), 2),
            "errors": errors}


def _median_sample(samples: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The sample whose `key` is the median (the lower middle of an even count; a failed one counts as 0)."""
    ranked = sorted(samples, key=lambda sample: sample.get(key) or 0)
    return {k: v for k, v in ranked[(len(ranked) - 1) // 2].items() if k != "samples"}


def timed_receive(rig: HubRig, path: Path, skus: list[str], rows: int, prefix: str = "timed") -> dict[str, Any]:
    """A receipt of other references through `bench.ledger_receive`: the library call timed alone."""
    receipt(path, skus, rows, prefix=prefix)
    before = movement_count(rig)
    result = run_command([sys.executable, "-m", "bench.ledger_receive", str(path)], rig.env)
    movements = movement_count(rig) - before
    out: dict[str, Any] = {"process": result.summary(), "movements": movements}
    if result.returncode != 0:
        return {**out, "movements_per_s": None, "error": result.stderr.strip().splitlines()[-1:]}
    timing = json.loads(result.stdout.strip().splitlines()[-1])
    return {**out, "wall_s": timing["wall_s"], "cpu_s": timing["cpu_s"],
            "movements_per_s": round(movements / timing["wall_s"], 1) if timing["wall_s"] else None}


def raw_executemany(rig: HubRig, rows: int, variant_ids: list[int], location_id: int) -> dict[str, Any]:
    """The same rows, straight through the driver: the database's own speed for this shape."""
    metadata = tables.Base.metadata  # the copy keeps its foreign keys to variants and locations
    raw = tables.StockMovement.__table__.to_metadata(  # type: ignore[attr-defined]
        metadata, name="bench_raw_movements")
    for item in [*raw.indexes, *raw.constraints]:  # the same indexes and keys, under names of their own
        if isinstance(item.name, str) and not item.name.startswith("uq_bench"):
            item.name = f"bench_raw_{item.name}"
    engine = rig.hub.db.engine
    raw.create(engine)
    now = datetime.now(UTC).replace(tzinfo=None)
    values = [(f"raw:{n}", variant_ids[n % len(variant_ids)], location_id, 5, 0, "receive", "bench", "raw", now)
              for n in range(rows)]
    marker = "?" if engine.dialect.name == "sqlite" else "%s"
    sql = (f"INSERT INTO bench_raw_movements (idempotency_key, variant_id, location_id, on_hand_delta, "
           f"committed_delta, reason, source, reference, created_at) VALUES ({', '.join([marker] * 9)})")
    connection = engine.raw_connection()
    try:
        started = time.perf_counter()
        cursor = connection.cursor()
        cursor.executemany(sql, values)
        connection.commit()
        wall = time.perf_counter() - started
    finally:
        connection.close()
    raw.drop(engine)
    metadata.remove(raw)
    return {"rows": rows, "wall_s": round(wall, 3), "rows_per_s": round(rows / wall, 1)}


def one_database(database: str, woo: RemoteSimulator, p: dict[str, Any], workdir: Path) -> dict[str, Any]:
    with HubRig(workdir / database, database=database) as rig:
        rig.connect(woo, "woo")
        import_catalog(rig.hub, "woo", actor="bench")
        with rig.hub.db.session() as session:
            variants = dict(session.execute(select(tables.Variant.sku, tables.Variant.id)).all())
            location = session.scalar(select(tables.Location.id).where(tables.Location.code == "default"))
        skus = sorted(variants)
        path = workdir / f"receipt-{database}.csv"
        receipt(path, skus, int(p["rows"]))
        load_before = loadavg()
        before = movement_count(rig)
        received = rig.cli("stock", "receive", str(path), "--json")
        movements = movement_count(rig) - before
        receive = {**received.summary(), "movements": movements,
                   "movements_per_s": round(movements / received.wall_s, 1) if received.wall_s else None}
        if received.returncode != 0:
            receive["error"] = received.stderr.strip().splitlines()[-1:]
        # Raw inserts and timed receives alternate, `samples` of each, and the ratio is of their medians:
        # one sample of each swung the PostgreSQL ratio from 0.15 to 0.34 with the machine's load.
        raws, timeds = [], []
        for k in range(int(p["samples"])):
            raws.append(raw_executemany(rig, int(p["rows"]), [variants[s] for s in skus], int(location or 1)))
            timeds.append(timed_receive(rig, workdir / f"receipt-timed{k}-{database}.csv", skus, int(p["rows"]),
                                        prefix=f"timed{k}"))
        timed = {**_median_sample(timeds, "movements_per_s"), "samples": timeds}
        raw = {**_median_sample(raws, "rows_per_s"), "samples": raws}
        ingests = []
        for n, workers in enumerate(p["workers"]):
            ingests.append(concurrent_ingest(rig, workers, int(p["orders"]), first=n * int(p["orders"])))
        return {"database": database, "receive": receive, "receive_timed": timed, "ingest": ingests,
                "raw_executemany": raw,
                "ratio_to_raw": round((timed["movements_per_s"] or 0) / raw["rows_per_s"], 4),
                "ratio_to_raw_cli": round((receive["movements_per_s"] or 0) / raw["rows_per_s"], 4),
                "ingest_ratio_to_raw": {str(i["workers"]): round(i["movements_per_s"] / raw["rows_per_s"], 4)
                                        for i in ingests},
                "loadavg_before": load_before, "loadavg_after": loadavg()}


def run(size: str = "full") -> dict[str, Any]:
    p = PARAMETERS[size]
    spec = SeedSpec(products=int(p["rows"]), variants=1, stock=50, seed=16)
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp, RemoteSimulator("woocommerce") as woo:
        woo.seed(spec)
        runs = [one_database(database, woo, p, Path(tmp)) for database in DATABASES]
    figures = {"ratio_to_raw": {r["database"]: r["ratio_to_raw"] for r in runs},
               "ratio_to_raw_cli": {r["database"]: r["ratio_to_raw_cli"] for r in runs},
               "receive_timed_movements_per_s": {r["database"]: r["receive_timed"]["movements_per_s"] for r in runs},
               "receive_timed_cpu_s": {r["database"]: r["receive_timed"].get("cpu_s") for r in runs},
               "receive_movements_per_s": {r["database"]: r["receive"]["movements_per_s"] for r in runs},
               "receive_cpu_s": {r["database"]: r["receive"]["cpu_s"] for r in runs},
               "raw_rows_per_s": {r["database"]: r["raw_executemany"]["rows_per_s"] for r in runs},
               "ingest_movements_per_s": {r["database"]: {str(i["workers"]): i["movements_per_s"]
                                                          for i in r["ingest"]} for r in runs}}
    return {"parameters": {**p, "databases": list(DATABASES)}, "figures": figures, "samples": runs}
