"""Sales velocity from the ledger: units per day, recent days weighted more, out-of-stock days left out.

The window is the last `planning.window_days` 24-hour buckets ending now (bucket 0 is the last
24 hours). Per variant and bucket the database sums, in one scan of the window, the units ordered
(`order_commit` movements, per channel by their source) and the change of available (on hand -
committed); the opening balance is today's level less what moved since the window began. Python
walks the buckets from the oldest, carrying the available forward:

* a bucket counts when the SKU was in stock at its start or sold in it, and the SKU existed
  (a bucket before its first movement is not a day it failed to sell);
* bucket i weighs 0.5 ** (i / half_life_days);
* velocity = Σ w·units ÷ Σ w over the counted buckets; sd = the weighted standard deviation of
  the daily units around it (the demand variability the dynamic safety stock uses).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from store import tables
from sync.reports.sql import epoch, epoch_seconds, scanned, whole_floor

DAY_S = 86400.0


@dataclass
class Demand:
    """One variant's demand over the window."""

    variant_id: int
    velocity: float = 0.0
    deviation: float = 0.0
    days_observed: int = 0
    units: int = 0
    by_channel: dict[str, float] = field(default_factory=dict)


@dataclass
class _Buckets:
    units: dict[int, int] = field(default_factory=dict)
    by_channel: dict[str, dict[int, int]] = field(default_factory=dict)
    available_change: dict[int, int] = field(default_factory=dict)
    opening: int = 0
    first_movement_age: float | None = None  # days before now


def _bucket(session: Session, now: datetime) -> ColumnElement[int]:
    return whole_floor(session, (epoch(now) - epoch_seconds(session, tables.StockMovement.created_at)) / DAY_S)


def _gather(session: Session, now: datetime, days: int, variant_ids: Iterable[int] | None) -> dict[int, _Buckets]:
    """One scan of the window's movements, then small lookups: levels, later changes, first movement."""
    move, level = tables.StockMovement, tables.StockLevel
    scope = [move.variant_id.in_(list(variant_ids))] if variant_ids is not None else []
    found: dict[int, _Buckets] = {}
    bucket = _bucket(session, now)
    ordered = move.reason == "order_commit"
    source = case((ordered, move.source), else_=literal(""))
    created, variant = scanned(session, move.created_at), scanned(session, move.variant_id)
    window = (select(variant, source, bucket, func.sum(case((ordered, move.committed_delta), else_=0)),
                     func.sum(move.on_hand_delta - move.committed_delta))
              .where(created > now - timedelta(days=days), created < now, *scope).group_by(variant, source, bucket))
    for variant_id, channel, index, units, delta in session.execute(window):
        item = found.setdefault(int(variant_id), _Buckets())
        item.available_change[int(index)] = item.available_change.get(int(index), 0) + int(delta or 0)
        if channel:
            item.units[int(index)] = item.units.get(int(index), 0) + int(units or 0)
            per = item.by_channel.setdefault(str(channel).removeprefix("order:"), {})
            per[int(index)] = per.get(int(index), 0) + int(units or 0)
    # opening available = today's levels - what moved in the window - what moved after `now`
    available = select(level.variant_id, func.sum(level.on_hand - level.committed)).group_by(level.variant_id)
    later = (select(move.variant_id, func.sum(move.on_hand_delta - move.committed_delta))
             .where(move.created_at >= now, *scope).group_by(move.variant_id))
    after = {int(v): int(delta or 0) for v, delta in session.execute(later)}
    firsts = select(move.variant_id, func.min(move.created_at)).where(*scope).group_by(move.variant_id)
    first = {int(v): moment for v, moment in session.execute(firsts)}
    for variant_id, current in session.execute(available.where(level.variant_id.in_(list(first)))):
        item = found.setdefault(int(variant_id), _Buckets())
        item.opening = int(current or 0) - after.get(int(variant_id), 0) - sum(item.available_change.values())
        moment = first.get(int(variant_id))
        item.first_movement_age = (now - moment).total_seconds() / DAY_S if moment is not None else None
    return found


def _demand(variant_id: int, buckets: _Buckets, days: int, half_life: float) -> Demand:
    available = buckets.opening
    counted: list[tuple[int, float]] = []
    for index in range(days - 1, -1, -1):  # oldest first, carrying the available forward
        sold = buckets.units.get(index, 0)
        existed = buckets.first_movement_age is not None and buckets.first_movement_age > index
        if existed and (available > 0 or sold > 0):
            counted.append((index, 0.5 ** (index / half_life)))
        available += buckets.available_change.get(index, 0)
    result = Demand(variant_id, days_observed=len(counted), units=sum(buckets.units.values()))
    weight = sum(w for _, w in counted)
    if not weight:
        return result
    result.velocity = sum(w * buckets.units.get(i, 0) for i, w in counted) / weight
    variance = sum(w * (buckets.units.get(i, 0) - result.velocity) ** 2 for i, w in counted) / weight
    result.deviation = math.sqrt(variance)
    result.by_channel = {channel: sum(w * units.get(i, 0) for i, w in counted) / weight
                         for channel, units in sorted(buckets.by_channel.items())}
    return result


def demand(session: Session, *, now: datetime, days: int, half_life_days: float,
           variant_ids: Iterable[int] | None = None) -> dict[int, Demand]:
    """Velocity and demand variability per variant (every variant with movements, or `variant_ids`)."""
    return {variant_id: _demand(variant_id, buckets, days, half_life_days)
            for variant_id, buckets in _gather(session, now, days, variant_ids).items()}
