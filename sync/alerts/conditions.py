"""What needs attention now: each alert kind as a condition computed from the store.

A condition has a stable `subject` (one per SKU, location, listing conflict or account): the book
keeps at most one open alert per subject, so evaluating again never duplicates one. Messages and
details hold SKUs, quantities, account names and ids — never customer data.

    below_reorder_point   available ≤ reorder point, for a SKU that sells (`sync.planning`)
    low_cover             days of cover under `alerts.cover_days`
    channel_out_of_stock  some channels show 0 while others still sell it (list = false is a choice)
    oversold              committed above on hand at a hub location
    stock_drift           an open stock-drift conflict (a channel's number moved away from the hub's)
    dead_stock            on hand, stocked for `reports.dead_stock_days`, no order in that time
    failing_account       the account's last push, reconciliation or catalogue run failed
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mapping import quantity
from mapping.conflicts import ConflictKind, ConflictStatus
from store import tables
from store.settings import Settings
from sync.planning.plan import PlanRow

KINDS = ("below_reorder_point", "low_cover", "channel_out_of_stock", "oversold", "stock_drift", "dead_stock",
         "failing_account")
INACTIVE_LISTINGS = ("deleted", "unlinked")


@dataclass(frozen=True)
class Condition:
    kind: str
    subject: str
    severity: str
    message: str
    sku: str | None = None
    account: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def replenishment(plan: list[PlanRow], cover_days: float) -> list[Condition]:
    found = []
    for row in plan:
        if row.below_reorder_point:
            found.append(Condition(
                "below_reorder_point", f"below_reorder_point:{row.sku}", "warning",
                f"{row.sku}: {row.available} available, at or below its reorder point {row.reorder_point} "
                f"({row.velocity:.2f}/day over a {row.lead_time_days}-day lead time + {row.safety_stock} safety)",
                sku=row.sku, detail={"available": row.available, "reorder_point": row.reorder_point,
                                     "velocity": round(row.velocity, 3), "lead_time_days": row.lead_time_days,
                                     "safety_stock": row.safety_stock}))
        if row.days_of_cover is not None and row.days_of_cover < cover_days:
            found.append(Condition(
                "low_cover", f"low_cover:{row.sku}", "critical" if row.available <= 0 else "warning",
                f"{row.sku}: {row.days_of_cover:.1f} days of cover left (under {cover_days:g})",
                sku=row.sku, detail={"available": row.available, "days_of_cover": row.days_of_cover,
                                     "velocity": round(row.velocity, 3)}))
    return found


def oversold(session: Session) -> list[Condition]:
    level = tables.StockLevel
    rows = session.execute(select(tables.Variant.sku, tables.Location.code, level.on_hand, level.committed)
                           .join(tables.Variant, tables.Variant.id == level.variant_id)
                           .join(tables.Location, tables.Location.id == level.location_id)
                           .where(level.committed > level.on_hand)).all()
    return [Condition("oversold", f"oversold:{sku}:{code}", "critical",
                      f"{sku} at {code}: {on_hand} on hand and {committed} committed to orders: "
                      f"{committed - on_hand} sold that the hub does not have", sku=sku,
                      detail={"location": code, "on_hand": on_hand, "committed": committed})
            for sku, code, on_hand, committed in rows]


def channel_out_of_stock(session: Session, settings: Settings) -> list[Condition]:
    listing = tables.Listing
    shown = func.coalesce(listing.acknowledged_quantity, listing.desired_quantity)
    rows = session.execute(select(tables.Variant.sku, tables.Account.name, shown)
                           .join(tables.Variant, tables.Variant.id == listing.variant_id)
                           .join(tables.Account, tables.Account.id == listing.account_id)
                           .where(listing.status.not_in(INACTIVE_LISTINGS), tables.Account.enabled.is_(True),
                                  shown.is_not(None))
                           .order_by(tables.Variant.sku, tables.Account.name)).all()
    by_sku: dict[str, dict[str, int]] = {}
    defaults = quantity.Rules(**settings.stock.rules.model_dump())
    for sku, account, value in rows:
        rules, _ = quantity.effective_rules(defaults, settings.accounts, settings.skus, sku, account)
        if rules.list:  # `list = false` publishes 0 on purpose
            by_sku.setdefault(sku, {})[account] = int(value)
    found = []
    for sku, accounts in by_sku.items():
        empty = sorted(a for a, value in accounts.items() if value <= 0)
        selling = sorted(a for a, value in accounts.items() if value > 0)
        if empty and selling:
            found.append(Condition("channel_out_of_stock", f"channel_out_of_stock:{sku}", "warning",
                                   f"{sku}: out of stock on {', '.join(empty)}, still selling on {', '.join(selling)}",
                                   sku=sku, detail={"out_of_stock": empty, "selling": selling}))
    return found


def stock_drift(session: Session) -> list[Condition]:
    conflict = tables.Conflict
    rows = session.execute(select(conflict.id, tables.Account.name, tables.Variant.sku, conflict.evidence)
                           .outerjoin(tables.Account, tables.Account.id == conflict.account_id)
                           .outerjoin(tables.Variant, tables.Variant.id == conflict.variant_id)
                           .where(conflict.kind == ConflictKind.STOCK_DRIFT.value,
                                  conflict.status == ConflictStatus.OPEN.value)).all()
    found = []
    for conflict_id, account, sku, evidence in rows:
        numbers = {key: evidence.get(key) for key in ("hub_desired", "hub_acknowledged", "channel_observed")
                   if isinstance(evidence, dict) and isinstance(evidence.get(key), int)}
        found.append(Condition("stock_drift", f"stock_drift:conflict:{conflict_id}", "warning",
                               f"{sku or 'a listing'} on {account}: the channel's quantity drifted from the hub's; "
                               f"see `marketsync conflicts show {conflict_id}`",
                               sku=sku, account=account, detail={"conflict": conflict_id, **numbers}))
    return found


def dead_stock(session: Session, now: datetime, days: int) -> list[Condition]:
    move, level = tables.StockMovement, tables.StockLevel
    cutoff = now - timedelta(days=days)
    recent_order = (select(move.id).where(move.variant_id == tables.Variant.id, move.reason == "order_commit",
                                          move.created_at > cutoff).limit(1).exists())
    first = select(func.min(move.created_at)).where(move.variant_id == tables.Variant.id).scalar_subquery()
    rows = session.execute(select(tables.Variant.sku, func.sum(level.on_hand))
                           .join(level, level.variant_id == tables.Variant.id)
                           .where(~recent_order, first <= cutoff)
                           .group_by(tables.Variant.sku).having(func.sum(level.on_hand) > 0)).all()
    return [Condition("dead_stock", f"dead_stock:{sku}", "info",
                      f"{sku}: {on_hand} on hand and no order in {days} days", sku=sku,
                      detail={"on_hand": int(on_hand), "days": days}) for sku, on_hand in rows]


def failing_accounts(session: Session) -> list[Condition]:
    run = tables.SyncRun
    latest = (select(run.account_id, run.kind, func.max(run.id).label("last"))
              .where(run.account_id.is_not(None), run.status != "running").group_by(run.account_id, run.kind)
              .subquery())
    rows = session.execute(select(tables.Account.name, run.kind, run.error, run.finished_at)
                           .join(latest, latest.c.last == run.id)
                           .join(tables.Account, tables.Account.id == run.account_id)
                           .where(run.status == "failed", tables.Account.enabled.is_(True))
                           .order_by(tables.Account.name, run.kind)).all()
    by_account: dict[str, list[tuple[str, str]]] = {}
    for name, kind, error, _ in rows:
        by_account.setdefault(name, []).append((kind, (error or "failed").splitlines()[0][:300]))
    return [Condition("failing_account", f"failing_account:{name}", "critical",
                      f"account {name}: last {', '.join(kind for kind, _ in failures)} failed: {failures[0][1]}",
                      account=name, detail={"failing": {kind: error for kind, error in failures}})
            for name, failures in by_account.items()]


def current_conditions(session: Session, settings: Settings, plan: list[PlanRow], now: datetime) -> list[Condition]:
    """Every condition that holds now, over every kind not disabled in `alerts.disabled`."""
    found = [*replenishment(plan, settings.alerts.cover_days), *channel_out_of_stock(session, settings),
             *oversold(session), *stock_drift(session), *dead_stock(session, now, settings.reports.dead_stock_days),
             *failing_accounts(session)]
    return [condition for condition in found if condition.kind not in settings.alerts.disabled]
