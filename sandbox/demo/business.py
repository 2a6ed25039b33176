"""The demo's business round: what a merchant does once the orders are in.

Before the final checks: cost prices for every SKU (`supply import`), and a few returns of shipped
orders taken through the flow (one restocked, one written off, one refund only), so the stock the
checks compare includes them. After the checks: the alerts are evaluated and the HTML report is
written into the workspace; the summary is what `marketsync demo` prints last.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sandbox.demo.world import DemoWorld
from store import tables
from store.types import utcnow
from sync.aftersales.service import create_return, take_step
from sync.alerts.service import evaluate, listed
from sync.planning.supply import import_supply
from sync.reports.period import Period
from sync.reports.sales import sales_report
from sync.reports.service import write_outputs

REPORT_NAME = "report.html"
RETURNS = (("too small", "restocked"), ("arrived broken", "written_off"), ("arrived late", "refund_only"))


def import_costs(world: DemoWorld, rng: random.Random) -> int:
    """A cost price per SKU (40-60 % of its price), imported from a CSV as a merchant would."""
    hub = world.require_hub()
    with hub.db.session() as session:
        variants = session.execute(select(tables.Variant.sku, tables.Variant.price, tables.Variant.currency)).all()
    rows = ["sku,cost,currency,lead_time_days"]
    for sku, price, currency in variants:
        if price is not None and currency:
            cost = (price * Decimal(rng.randint(40, 60)) / 100).quantize(Decimal("0.01"))
            rows.append(f"{sku},{cost},{currency},{rng.choice((7, 10, 14))}")
    path = world.home / "supply.csv"
    path.write_text("\n".join(rows) + "\n")
    return import_supply(hub, path).updated


def take_returns(world: DemoWorld, rng: random.Random) -> dict[str, int]:
    """Three buyers send something back from a shipped order."""
    hub = world.require_hub()
    with hub.db.session() as session:
        shipped = session.execute(
            select(tables.Order.id, tables.OrderLine.sku).join(tables.OrderLine,
                                                               tables.OrderLine.order_id == tables.Order.id)
            .where(tables.OrderLine.shipped_quantity > 0, tables.OrderLine.variant_id.is_not(None))
            .order_by(tables.Order.id)).all()
    done: dict[str, int] = {}
    for (reason, outcome), (order_id, sku) in zip(RETURNS, rng.sample(shipped, k=min(3, len(shipped))), strict=False):
        made = create_return(hub, str(order_id), sku or "", 1, reason=reason, actor="demo-warehouse",
                             refund_only=outcome == "refund_only", reference=f"DEMO-RMA-{order_id}")
        if outcome != "refund_only":
            take_step(hub, made["id"], "received", actor="demo-warehouse")
            take_step(hub, made["id"], "inspected", actor="demo-warehouse",
                      note="as new" if outcome == "restocked" else "glass shattered")
            take_step(hub, made["id"], outcome, actor="demo-warehouse",
                      note="" if outcome == "restocked" else "cannot be sold again")
        done[outcome] = done.get(outcome, 0) + 1
    return done


def report_and_alerts(world: DemoWorld) -> dict[str, Any]:
    """Evaluate the alerts, write the report into the workspace, and sum up sales and alerts."""
    hub = world.require_hub()
    evaluation = evaluate(hub, deliver=False)
    now = utcnow()
    period = Period(now - timedelta(days=1), now + timedelta(minutes=1))
    report = Path(world.home) / REPORT_NAME
    write_outputs(hub, period, "channel", html=report, png=None)
    with hub.db.session() as session:
        sales = sales_report(session, hub.settings, period, "channel")
    open_alerts = listed(hub)
    kinds: dict[str, int] = {}
    for alert in open_alerts:
        kinds[alert["kind"]] = kinds.get(alert["kind"], 0) + 1
    total = sales["total"]
    return {
        "sales": {"orders": total["orders"], "units": total["units"], "gross": total["gross"], "net": total["net"],
                  "refund_rate": total["refund_rate"], "return_rate": total["return_rate"],
                  "repeat_purchase_rate": total["repeat_purchase_rate"],
                  "by_channel": {row["key"]: {"orders": row["orders"], "gross": row["gross"]}
                                 for row in sales["rows"]}},
        "alerts": {"open": len(open_alerts), "opened": evaluation["opened"], "by_kind": dict(sorted(kinds.items()))},
        "report": str(report), "report_written": report.exists() and report.stat().st_size > 0,
    }
