"""What `marketsync planning …` and the periodic refresh call."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from canonical.errors import MarketsyncError
from store import tables
from store.types import utcnow
from sync.hub.context import Hub
from sync.planning.plan import PlanRow, plan_rows, store_figures
from sync.stock.desired import recompute_desired
from sync.stock.push_queue import request_pushes


class PlanningError(MarketsyncError):
    """A planning command was refused; the message names the SKU and what to do."""


def plan(hub: Hub, skus: list[str] | None = None) -> list[PlanRow]:
    """The plan of every stocked SKU, or of `skus` (each must exist)."""
    with hub.db.session() as session:
        if skus:
            known = set(session.scalars(select(tables.Variant.sku).where(tables.Variant.sku.in_(skus))))
            unknown = [sku for sku in skus if sku not in known]
            if unknown:
                raise PlanningError(f"unknown SKU(s) {', '.join(unknown)}; see `marketsync stock levels`")
        return plan_rows(session, hub.settings, skus=skus)


def refresh(hub: Hub) -> dict[str, Any]:
    """Recompute and store every SKU's figures; in dynamic mode, new safety stock reaches the channels."""
    now = utcnow()
    accounts: set[int] = set()
    with hub.db.session() as session:
        rows = plan_rows(session, hub.settings, now=now)
        changed = store_figures(session, rows, now)
        dynamic = hub.settings.planning.safety_stock_mode == "dynamic"
        if dynamic and changed:
            accounts = recompute_desired(session, hub.settings, changed)
    request_pushes(hub, accounts)
    return {"skus": len(rows), "changed": len(changed), "computed_at": now.isoformat()}

