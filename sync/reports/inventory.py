"""`marketsync report inventory`: stock, its value at cost, turnover, sell-through and dead stock.

Per SKU, from the ledger, for the period [since, until):

* on hand, committed, available now (all hub locations), and the value of on hand at cost;
* sold = units shipped in the period (`shipment` movements): cost of goods sold = sold * cost;
* average inventory = the time-weighted on hand over the period (opening on hand, then every
  movement weighted by the time it stayed), rebuilt from the movements by SQL;
* turnover = COGS ÷ average inventory at cost (= sold ÷ average on hand for one SKU), days of
  inventory = period days ÷ turnover; sell-through = sold ÷ (opening on hand + units that came in);
* dead stock: on hand > 0, stocked for `[reports] dead_stock_days` and no order in that time.

Costs come from `marketsync supply import` (the current cost; the hub keeps no cost history).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from store import tables
from store.settings import Settings
from store.types import utcnow
from sync.reports.currency import Amounts, Rates, add, quantize, shown
from sync.reports.period import Period
from sync.reports.sales import rates_from, ratio
from sync.reports.sql import epoch, epoch_seconds, scanned


@dataclass
class SkuStock:
    variant_id: int
    sku: str
    title: str
    on_hand: int = 0
    committed: int = 0
    cost: Decimal | None = None
    currency: str | None = None
    sold: int = 0
    inflow: int = 0
    net_change: int = 0
    weighted_change: float = 0.0
    after_period: int = 0
    last_order_at: datetime | None = None
    first_movement_at: datetime | None = None

    def closing(self) -> int:
        return self.on_hand - self.after_period

    def opening(self) -> int:
        return self.closing() - self.net_change

    def average_on_hand(self, period: Period) -> float:
        seconds = (period.until - period.since).total_seconds()
        return max(self.opening() + self.weighted_change / seconds, 0.0)


def _levels(session: Session) -> dict[int, SkuStock]:
    stmt = (select(tables.Variant.id, tables.Variant.sku, tables.Variant.title, tables.VariantSupply.cost_price,
                   tables.VariantSupply.cost_currency, func.coalesce(func.sum(tables.StockLevel.on_hand), 0),
                   func.coalesce(func.sum(tables.StockLevel.committed), 0))
            .join(tables.StockLevel, tables.StockLevel.variant_id == tables.Variant.id)
            .outerjoin(tables.VariantSupply, tables.VariantSupply.variant_id == tables.Variant.id)
            .group_by(tables.Variant.id, tables.Variant.sku, tables.Variant.title, tables.VariantSupply.cost_price,
                      tables.VariantSupply.cost_currency))
    return {int(vid): SkuStock(int(vid), sku, title, int(on_hand), int(committed), cost, currency)
            for vid, sku, title, cost, currency, on_hand, committed in session.execute(stmt)}


def _flows(session: Session, period: Period, skus: dict[int, SkuStock]) -> None:
    """One scan of the period's movements; the changes after it come through the index."""
    move = tables.StockMovement
    created, variant = scanned(session, move.created_at), scanned(session, move.variant_id)
    stmt = (select(variant, func.sum(case((move.reason == "shipment", -move.on_hand_delta), else_=0)),
                   func.sum(case((move.on_hand_delta > 0, move.on_hand_delta), else_=0)),
                   func.sum(move.on_hand_delta),
                   func.sum(move.on_hand_delta * (epoch(period.until) - epoch_seconds(session, move.created_at))))
            .where(created >= period.since, created < period.until, move.on_hand_delta != 0)
            .group_by(variant))
    for variant_id, sold, inflow, net, weighted in session.execute(stmt):
        if (item := skus.get(int(variant_id))) is not None:
            item.sold, item.inflow, item.net_change = int(sold or 0), int(inflow or 0), int(net or 0)
            item.weighted_change = float(weighted or 0)
    later = (select(move.variant_id, func.sum(move.on_hand_delta)).where(move.created_at >= period.until)
             .group_by(move.variant_id))
    for variant_id, change in session.execute(later):
        if (item := skus.get(int(variant_id))) is not None:
            item.after_period = int(change or 0)


def _ages(session: Session, skus: dict[int, SkuStock]) -> None:
    """First movement and last order per variant, each answered from the (variant, time) index."""
    move = tables.StockMovement
    for variant_id, first in session.execute(select(move.variant_id, func.min(move.created_at))
                                             .group_by(move.variant_id)):
        if (item := skus.get(int(variant_id))) is not None:
            item.first_movement_at = first
    last_order = (select(move.created_at).where(move.variant_id == tables.Variant.id, move.reason == "order_commit")
                  .order_by(move.created_at.desc()).limit(1).scalar_subquery())
    for variant_id, last in session.execute(select(tables.Variant.id, last_order)
                                            .where(tables.Variant.id.in_(list(skus)))):
        skus[int(variant_id)].last_order_at = last


def is_dead(item: SkuStock, dead_days: int, now: datetime) -> bool:
    cutoff = now - timedelta(days=dead_days)
    stocked_long = item.first_movement_at is not None and item.first_movement_at <= cutoff
    return item.on_hand > 0 and stocked_long and (item.last_order_at is None or item.last_order_at <= cutoff)


def _row(item: SkuStock, period: Period, dead_days: int, now: datetime) -> dict[str, Any]:
    average = item.average_on_hand(period)
    turnover = item.sold / average if average > 0 else None
    base = item.opening() + item.inflow
    cost = item.cost

    def at_cost(units: float) -> str | None:
        if cost is None or item.currency is None:
            return None
        return str(quantize(cost * Decimal(str(round(units, 4))), item.currency))

    return {
        "sku": item.sku, "title": item.title, "on_hand": item.on_hand, "committed": item.committed,
        "available": item.on_hand - item.committed, "cost": None if cost is None else str(cost),
        "currency": item.currency, "value": at_cost(item.on_hand), "opening_on_hand": item.opening(),
        "closing_on_hand": item.closing(), "average_on_hand": round(average, 2), "sold": item.sold,
        "cogs": at_cost(item.sold), "average_value": at_cost(average),
        "turnover": None if turnover is None else round(turnover, 3),
        "days_of_inventory": round(period.days / turnover, 1) if turnover else None,
        "sell_through": ratio(item.sold, base) if base > 0 else None,
        "last_order_at": item.last_order_at.isoformat() if item.last_order_at else None,
        "dead_stock": is_dead(item, dead_days, now),
    }


def _totals(skus: list[SkuStock], period: Period, rates: Rates) -> dict[str, Any]:
    value: Amounts = {}
    cogs: Amounts = {}
    average_value: Amounts = {}
    for item in skus:
        if item.cost is None or item.currency is None:
            continue
        add(value, item.currency, item.cost * item.on_hand)
        add(cogs, item.currency, item.cost * item.sold)
        add(average_value, item.currency, item.cost * Decimal(str(round(item.average_on_hand(period), 4))))
    sold = sum(item.sold for item in skus)
    average_units = sum(item.average_on_hand(period) for item in skus)
    turnover = _turnover(cogs, average_value, rates)
    converted_value, missing = rates.convert(value)
    return {
        "skus": len(skus), "skus_without_cost": sum(1 for item in skus if item.cost is None),
        "on_hand": sum(item.on_hand for item in skus), "committed": sum(item.committed for item in skus),
        "available": sum(item.on_hand - item.committed for item in skus), "sold": sold,
        "value": shown(value), "cogs": shown(cogs), "average_value": shown(average_value),
        "converted": None if not rates.base else {"currency": rates.base, "value": str(converted_value),
                                                  "cogs": str(rates.convert(cogs)[0]), "missing_rates": missing},
        "turnover": None if turnover is None else round(turnover, 3),
        "days_of_inventory": round(period.days / turnover, 1) if turnover else None,
        "unit_turnover": round(sold / average_units, 3) if average_units > 0 else None,
    }


def _turnover(cogs: Amounts, average_value: Amounts, rates: Rates) -> float | None:
    """COGS ÷ average inventory at cost: in one currency, or converted when every currency has a rate."""
    if len(average_value) == 1:
        (code, average), = average_value.items()
        return float(cogs.get(code, Decimal(0)) / average) if average > 0 else None
    cogs_total, missing = rates.convert(cogs)
    average_total, missing_average = rates.convert(average_value)
    if cogs_total is None or average_total is None or missing or missing_average or average_total <= 0:
        return None
    return float(cogs_total / average_total)


def inventory_report(session: Session, settings: Settings, period: Period,
                     now: datetime | None = None) -> dict[str, Any]:
    """The inventory report: per SKU and in total (see the module docstring for each figure)."""
    now = now or utcnow()
    skus = _levels(session)
    _flows(session, period, skus)
    _ages(session, skus)
    ordered = sorted(skus.values(), key=lambda item: item.sku)
    dead_days = settings.reports.dead_stock_days
    rates = rates_from(settings)
    rows = [_row(item, period, dead_days, now) for item in ordered]
    return {"report": "inventory", **period.as_dict(), "currency": rates.base or None, "dead_stock_days": dead_days,
            "rows": rows, "dead_stock": [row["sku"] for row in rows if row["dead_stock"]],
            "total": _totals(ordered, period, rates)}
