"""Oversell is never silent: an `oversold` conflict per (variant, hub location) committed beyond on hand.

A channel that sells past zero (backorders, a "continue selling" policy, or two channels
selling the last unit at once) leaves the hub's available below zero. Every stock change checks
the levels it touched when it settles (`sync.stock.change.StockChange.settle`): a shortfall opens
(or refreshes) the conflict `oversold:{variant}:{location}` with the SKU, the open orders and the
shortfall, and a level that stock covers again closes it by itself. Ignored stays ignored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from mapping.conflicts import ConflictKind, close_if_open, find_open, open_unless_ignored
from store import tables
from store.chunks import among, chunked


def subject(variant_id: int, location_id: int) -> str:
    return f"oversold:{variant_id}:{location_id}"


def shortfall(on_hand: int, committed: int) -> int:
    """Units promised to buyers that the shelf cannot cover (0 when covered)."""
    return max(0, committed - max(on_hand, 0))


def check(session: Session, variant_ids: set[int]) -> None:
    """Open, refresh or close the oversold conflicts of `variant_ids` from their current levels."""
    level = tables.StockLevel
    for chunk in chunked(sorted(variant_ids)):
        open_conflicts = session.execute(select(tables.Conflict.subject, tables.Conflict.variant_id).where(
            tables.Conflict.kind == ConflictKind.OVERSOLD.value, tables.Conflict.status == "open",
            among(session, tables.Conflict.variant_id, chunk))).all()
        open_subjects = {name for name, _ in open_conflicts}
        open_variants = sorted({int(variant) for _, variant in open_conflicts if variant is not None})
        # only the levels that are short, or whose conflict is open: a receipt reads none of its 10,000
        is_short = level.committed > case((level.on_hand > 0, level.on_hand), else_=0)
        rows = session.execute(
            select(level.variant_id, level.location_id, level.on_hand, level.committed, tables.Variant.sku,
                   tables.Location.code)
            .join(tables.Variant, tables.Variant.id == level.variant_id)
            .join(tables.Location, tables.Location.id == level.location_id)
            .where(among(session, level.variant_id, chunk), or_(is_short, level.variant_id.in_(open_variants)))).all()
        for variant_id, location_id, on_hand, committed, sku, code in rows:
            name = subject(int(variant_id), int(location_id))
            short = shortfall(int(on_hand), int(committed))
            if short > 0:
                evidence = {"sku": sku, "location": code, "on_hand": int(on_hand), "committed": int(committed),
                            "shortfall": short, "orders": open_orders(session, int(variant_id), int(location_id))}
                known = find_open(session, name)
                if known is None or known.evidence != evidence:
                    open_unless_ignored(session, ConflictKind.OVERSOLD, name, evidence=evidence,
                                        variant_id=int(variant_id))
            elif name in open_subjects:
                close_if_open(session, name, f"stock covers the orders again (on hand {on_hand}, "
                                             f"committed {committed})", actor="hub")


def open_orders(session: Session, variant_id: int, location_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The open order lines whose commitment sits at the location (oldest first), at most `limit`."""
    committed_at = dict(session.execute(
        select(tables.StockMovement.idempotency_key, tables.StockMovement.location_id)
        .where(tables.StockMovement.variant_id == variant_id, tables.StockMovement.reason == "order_commit")).all())
    rows = session.execute(
        select(tables.OrderLine, tables.Order, tables.Account.name)
        .join(tables.Order, tables.Order.id == tables.OrderLine.order_id)
        .join(tables.Account, tables.Account.id == tables.Order.account_id)
        .where(tables.OrderLine.variant_id == variant_id, tables.OrderLine.held.is_(False),
               tables.Order.status == "open")
        .order_by(tables.Order.placed_at, tables.OrderLine.id)).all()
    found = []
    for line, order, account in rows:
        units = line.quantity - line.shipped_quantity - line.cancelled_quantity
        key = f"order:{order.account_id}:{order.external_id}:{line.external_id}:commit"  # sync.orders.effects
        if units > 0 and committed_at.get(key) == location_id:
            found.append({"account": account, "order": order.number or order.external_id,
                          "order_id": order.external_id, "quantity": units})
    return found[:limit]


def open_oversold(session: Session) -> list[dict[str, Any]]:
    """Every open oversold conflict, for `marketsync status`."""
    conflicts = session.scalars(select(tables.Conflict).where(
        tables.Conflict.kind == ConflictKind.OVERSOLD.value, tables.Conflict.status == "open")
        .order_by(tables.Conflict.id)).all()
    return [{"conflict": c.id, "sku": c.evidence.get("sku"), "location": c.evidence.get("location"),
             "shortfall": c.evidence.get("shortfall"),
             "orders": [f"{o['account']}:{o['order']}" for o in c.evidence.get("orders", [])]} for c in conflicts]
