"""Report benchmark: every report over BENCH_REPORT_ORDERS (default 100,000) orders, on SQLite and PostgreSQL.

Fills a fresh database with three channels, 500 SKUs, the orders (1-3 lines each, two currencies,
5 % refunded, 30,000 returning customers) spread over 90 days, and the ledger movements those
orders make (a commit and a shipment per line). Then times, on each engine, the sales report by
channel, SKU, day and week over the 90 days, the inventory report, the planning figures (velocity
over 56 days) and the whole HTML page with its charts. The target is 2 s per report; the figures
are what the database aggregation costs, data loading excluded.

Environment: BENCH_REPORT_ORDERS, BENCH_POSTGRES_URL (default the test database on 127.0.0.1; a
fresh schema is created and dropped). Writes bench/results/reports.json.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text

from store import tables
from store.db import Database
from store.settings import load_settings
from sync.planning.plan import plan_rows
from sync.reports import page
from sync.reports.inventory import inventory_report
from sync.reports.period import Period
from sync.reports.sales import sales_report

NAME = "reports"
TARGET_S = 2.0
SKUS = 500
CUSTOMERS = 30_000
DAYS = 90
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _batches(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _catalogue(db: Database, now: datetime) -> tuple[list[int], list[int], int]:
    with db.session() as session:
        accounts = []
        for name, platform in (("shop-a", "shopify"), ("shop-b", "shopify"), ("woo", "woocommerce")):
            account = tables.Account(name=name, platform=platform, options={}, secrets="",
                                     created_at=now - timedelta(days=DAYS + 30))
            session.add(account)
            session.flush()
            accounts.append(account.id)
        product = tables.Product(title="Bench goods")
        session.add(product)
        session.flush()
        location = tables.Location(code="default", name="default")
        session.add(location)
        session.flush()
        variants = []
        for n in range(SKUS):
            variant = tables.Variant(product_id=product.id, sku=f"B-{n:04d}")
            session.add(variant)
            session.flush()
            variants.append(variant.id)
            session.add(tables.VariantSupply(variant_id=variant.id, cost_price=Decimal("3.10"), cost_currency="EUR"))
        return accounts, variants, location.id


def fill(db: Database, orders: int, now: datetime, seed: int = 14) -> dict[str, int]:
    """The bench data set up to `now`, inserted in batches (Core inserts; no ORM objects per row)."""
    rng = random.Random(seed)
    accounts, variants, location = _catalogue(db, now)
    order_rows, line_rows, movement_rows = [], [], []
    on_hand = dict.fromkeys(variants, 0)
    sku_of = {variant_id: f"B-{n:04d}" for n, variant_id in enumerate(variants)}
    for n in range(1, orders + 1):
        placed = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        currency = "USD" if n % 4 == 0 else "EUR"
        picks = [(rng.choice(variants), rng.randint(1, 3)) for _ in range(rng.randint(1, 3))]
        total = sum((Decimal("9.90") * qty for _, qty in picks), Decimal(0))
        refunded = n % 20 == 0
        order_rows.append({
            "id": n, "account_id": accounts[n % 3], "external_id": str(n), "number": f"#{n}", "status": "completed",
            "currency": currency, "total": total, "placed_at": placed, "channel_updated_at": placed,
            "customer_key": f"{rng.randrange(CUSTOMERS):032x}", "refunded_total": Decimal("9.90") if refunded else None,
            "channel_state": {}, "created_at": placed, "updated_at": placed})
        for line_no, (variant_id, qty) in enumerate(picks):
            line_rows.append({"order_id": n, "external_id": f"{n}-{line_no}", "variant_id": variant_id,
                              "sku": sku_of[variant_id], "quantity": qty, "unit_price": Decimal("9.90"),
                              "shipped_quantity": qty, "cancelled_quantity": 0, "restocked_quantity": 0,
                              "refunded_quantity": 1 if refunded and line_no == 0 else 0, "held": False, "title": ""})
            for kind, on_hand_delta, committed_delta, at in (("order_commit", 0, qty, placed),
                                                            ("shipment", -qty, -qty, placed + timedelta(hours=20))):
                movement_rows.append({"idempotency_key": f"{kind}:{n}:{line_no}", "variant_id": variant_id,
                                      "location_id": location, "on_hand_delta": on_hand_delta,
                                      "committed_delta": committed_delta, "reason": kind, "source": "order:bench",
                                      "reference": str(n), "created_at": min(at, now)})
            on_hand[variant_id] += qty
    for variant_id, sold in on_hand.items():  # received before the period: enough for every sale and some left
        movement_rows.append({"idempotency_key": f"receive:{variant_id}", "variant_id": variant_id,
                              "location_id": location, "on_hand_delta": sold + rng.randint(0, 200),
                              "committed_delta": 0, "reason": "receive", "source": "bench", "reference": "",
                              "created_at": now - timedelta(days=DAYS + 1)})
    with db.engine.begin() as connection:
        for table, rows in ((tables.Order, order_rows), (tables.OrderLine, line_rows),
                            (tables.StockMovement, movement_rows)):
            for batch in _batches(rows):
                connection.execute(insert(table), batch)
        levels: dict[int, int] = {}
        for row in movement_rows:
            levels[row["variant_id"]] = levels.get(row["variant_id"], 0) + row["on_hand_delta"]
        connection.execute(insert(tables.StockLevel), [
            {"variant_id": v, "location_id": location, "on_hand": q, "committed": 0, "updated_at": now}
            for v, q in levels.items()])
        if db.dialect == "postgresql":
            connection.execute(text("SELECT setval(pg_get_serial_sequence('orders', 'id'), :n)"), {"n": orders})
            connection.execute(text("ANALYZE"))
        else:
            connection.exec_driver_sql("ANALYZE")
    return {"orders": len(order_rows), "lines": len(line_rows), "movements": len(movement_rows)}


def _timed(function: Callable[[], Any], repeat: int = 2) -> float:
    """Best of `repeat` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def measure(db: Database, now: datetime) -> dict[str, Any]:
    settings = load_settings()
    settings.reports.currency, settings.reports.rates = "EUR", {"USD": Decimal("0.92")}
    period = Period(now - timedelta(days=DAYS), now + timedelta(minutes=1))  # every order the data set holds
    figures: dict[str, Any] = {}
    with db.session() as session:
        for by in ("channel", "sku", "day", "week"):
            figures[f"sales_by_{by}_s"] = _timed(lambda by=by: sales_report(session, settings, period, by))
        figures["inventory_s"] = _timed(lambda: inventory_report(session, settings, period))
        figures["planning_s"] = _timed(lambda: plan_rows(session, settings))

        def whole_page() -> None:
            data = page.gather(session, settings, period)
            page.render(data, page.figures(session, settings, data))

        figures["html_page_with_charts_s"] = _timed(whole_page, repeat=1)
        total = sales_report(session, settings, period)["total"]
        figures["checked"] = {"orders": total["orders"], "units": total["units"],
                              "gross_converted": total["converted"]["gross"],
                              "repeat_purchase_rate": total["repeat_purchase_rate"],
                              "orders_in_db": session.scalar(select(func.count()).select_from(tables.Order))}
    reports = [v for k, v in figures.items() if k.endswith("_s") and k != "html_page_with_charts_s"]
    figures["slowest_report_s"] = max(reports)
    figures["within_target"] = figures["slowest_report_s"] <= TARGET_S
    return figures


def _on(url: str, orders: int) -> dict[str, Any]:
    db = Database(url)
    try:
        db.upgrade()
        started, now = time.perf_counter(), datetime.now(UTC)
        loaded = fill(db, orders, now)
        loaded["load_s"] = round(time.perf_counter() - started, 1)
        return {"data": loaded, **measure(db, now)}
    finally:
        db.dispose()


def _postgres(orders: int) -> dict[str, Any]:
    base = os.environ.get("BENCH_POSTGRES_URL", POSTGRES)
    schema = f"bench_reports_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no server: say so in the figures rather than fail the whole run
        return {"skipped": f"PostgreSQL not reachable at {base}: {type(exc).__name__}"}
    try:
        separator = "&" if "?" in base else "?"
        return _on(f"{base}{separator}options=-csearch_path%3D{schema}", orders)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def run() -> dict[str, Any]:
    orders = int(os.environ.get("BENCH_REPORT_ORDERS", "100000"))
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = _on(f"sqlite:///{Path(tmp) / 'reports.db'}", orders)
    return {"orders": orders, "target_s": TARGET_S, "sqlite": sqlite, "postgresql": _postgres(orders)}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
