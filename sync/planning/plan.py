"""Per SKU: days of cover, safety stock, reorder point — and the stored dynamic safety stock.

Formulas (also in docs/decisions.md):

* velocity v (units/day) and its daily deviation sd: `sync.planning.velocity`;
* lead time L (days): the SKU's own (`supply import`) > its supplier's
  `[planning.suppliers.NAME] lead_time_days` > `planning.lead_time_days`;
* dynamic safety stock = ⌈z · sd · √L⌉ with z the standard normal quantile of
  `planning.service_level` (0.95 → z = 1.645): demand variability over a fixed lead time;
* safety stock SS: a fixed value where one is set (`[skus."SKU"]`, the SKU's own, its
  supplier's), else the dynamic one when `planning.safety_stock_mode = "dynamic"`, else
  `stock.safety_stock` — the same value the quantity rules subtract (`mapping.quantity`);
* reorder point = ⌈v · L + SS⌉; days of cover = available ÷ v (none when nothing sells).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from statistics import NormalDist
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mapping.quantity import effective_safety_stock
from store import tables
from store.chunks import among
from store.settings import Settings
from store.types import utcnow
from sync.aftersales.flow import RETURNS_LOCATION
from sync.planning.velocity import Demand, demand


@dataclass(frozen=True)
class PlanRow:
    sku: str
    variant_id: int
    on_hand: int
    committed: int
    available: int
    velocity: float
    velocity_by_channel: dict[str, float]
    deviation: float
    days_observed: int
    supplier: str | None
    lead_time_days: int
    lead_time_source: str
    dynamic_safety_stock: int
    safety_stock: int
    safety_stock_source: str
    reorder_point: int
    days_of_cover: float | None

    @property
    def below_reorder_point(self) -> bool:
        return self.velocity > 0 and self.available <= self.reorder_point

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["velocity"] = round(self.velocity, 3)
        data["deviation"] = round(self.deviation, 3)
        data["velocity_by_channel"] = {k: round(v, 3) for k, v in self.velocity_by_channel.items()}
        data["below_reorder_point"] = self.below_reorder_point
        return data


def service_z(service_level: float) -> float:
    return NormalDist().inv_cdf(service_level)


def dynamic_safety_stock(deviation: float, lead_time_days: int, service_level: float) -> int:
    return math.ceil(service_z(service_level) * deviation * math.sqrt(lead_time_days) - 1e-9) \
        if deviation > 0 and lead_time_days > 0 else 0


def _lead_time(settings: Settings, supply: tables.VariantSupply | None) -> tuple[int, str]:
    if supply is not None and supply.lead_time_days is not None:
        return supply.lead_time_days, "variant_supply.lead_time_days"
    supplier = settings.planning.suppliers.get(supply.supplier) if supply and supply.supplier else None
    if supplier is not None and supplier.lead_time_days is not None:
        return supplier.lead_time_days, f"planning.suppliers.{supply.supplier if supply else ''}.lead_time_days"
    return settings.planning.lead_time_days, "planning.lead_time_days"


def _levels(session: Session, variant_ids: Iterable[int] | None) -> dict[int, tuple[int, int]]:
    level = tables.StockLevel
    # Returned goods waiting for inspection are on hand but not for sale: they do not count as cover.
    waiting = select(tables.Location.id).where(tables.Location.code == RETURNS_LOCATION).scalar_subquery()
    stmt = (select(level.variant_id, func.sum(level.on_hand), func.sum(level.committed))
            .where(level.location_id.is_distinct_from(waiting)).group_by(level.variant_id))
    if variant_ids is not None:
        stmt = stmt.where(level.variant_id.in_(list(variant_ids)))
    return {int(v): (int(on_hand or 0), int(committed or 0)) for v, on_hand, committed in session.execute(stmt)}


def plan_row(settings: Settings, variant: tables.Variant, supply: tables.VariantSupply | None,
             level: tuple[int, int], found: Demand | None) -> PlanRow:
    found = found or Demand(variant.id)
    lead, lead_source = _lead_time(settings, supply)
    dynamic = dynamic_safety_stock(found.deviation, lead, settings.planning.service_level)
    supplier_name = supply.supplier if supply else None
    supplier_settings = settings.planning.suppliers.get(supplier_name) if supplier_name else None
    safety, safety_source = effective_safety_stock(
        settings.stock.safety_stock, variant.safety_stock, settings.skus, variant.sku,
        supplier=(supplier_name, supplier_settings.safety_stock) if supplier_name and supplier_settings else None,
        dynamic=dynamic if settings.planning.safety_stock_mode == "dynamic" else None)
    available = level[0] - level[1]
    return PlanRow(
        sku=variant.sku, variant_id=variant.id, on_hand=level[0], committed=level[1], available=available,
        velocity=found.velocity, velocity_by_channel=found.by_channel, deviation=found.deviation,
        days_observed=found.days_observed, supplier=supplier_name, lead_time_days=lead,
        lead_time_source=lead_source, dynamic_safety_stock=dynamic, safety_stock=safety,
        safety_stock_source=safety_source,
        reorder_point=math.ceil(found.velocity * lead + safety - 1e-9),
        days_of_cover=round(available / found.velocity, 1) if found.velocity > 0 else None)


def plan_rows(session: Session, settings: Settings, *, now: datetime | None = None,
              skus: Iterable[str] | None = None) -> list[PlanRow]:
    """The plan of every stocked SKU (or of `skus`), sorted by SKU."""
    stmt = (select(tables.Variant, tables.VariantSupply)
            .outerjoin(tables.VariantSupply, tables.VariantSupply.variant_id == tables.Variant.id)
            .order_by(tables.Variant.sku))
    if skus is not None:
        stmt = stmt.where(tables.Variant.sku.in_(list(skus)))
    variants = [(variant, supply) for variant, supply in session.execute(stmt)]
    ids = [variant.id for variant, _ in variants] if skus is not None else None
    levels = _levels(session, ids)
    planning = settings.planning
    found = demand(session, now=now or utcnow(), days=planning.window_days, half_life_days=planning.half_life_days,
                   variant_ids=ids)
    return [plan_row(settings, variant, supply, levels[variant.id], found.get(variant.id))
            for variant, supply in variants if variant.id in levels]


def store_figures(session: Session, rows: Iterable[PlanRow], now: datetime) -> set[int]:
    """Save each SKU's figures; returns the variants whose dynamic safety stock changed."""
    changed: set[int] = set()
    rows = list(rows)
    # One read of the stored figures (a `get` per SKU autoflushed the previous SKU's insert: two
    # statements a variant, 10,000 for a 5,000-SKU catalogue); new ones are inserted in one flush.
    figures = tables.PlanningFigures
    held = {f.variant_id: f for f in session.scalars(
        select(figures).where(among(session, figures.variant_id, [row.variant_id for row in rows])))}
    for row in rows:
        stored = held.get(row.variant_id)
        if stored is None:
            stored = tables.PlanningFigures(variant_id=row.variant_id, dynamic_safety_stock=0)
            session.add(stored)
            if row.dynamic_safety_stock:
                changed.add(row.variant_id)
        elif stored.dynamic_safety_stock != row.dynamic_safety_stock:
            changed.add(row.variant_id)
        stored.velocity, stored.deviation = row.velocity, row.deviation
        stored.days_observed, stored.dynamic_safety_stock = row.days_observed, row.dynamic_safety_stock
        stored.computed_at = now
    session.flush()
    return changed
