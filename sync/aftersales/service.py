"""What `marketsync returns …` calls: create a return by hand and take it step by step.

A hand-made return is keyed `hand:{order}:{line}:{reference}`: the same `--reference` (an RMA
number, a parcel's tracking) twice is one return; without one, every `create` is a new return.
After a step that changes what can be sold (restock, an exchange's replacement), the affected
channels get a push.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import tables
from sync.aftersales import flow
from sync.aftersales.flow import ReturnError, Step
from sync.aftersales.views import described
from sync.hub.context import Hub
from sync.orders.views import resolve_order
from sync.stock.change import stock_change

STEPS = ("received", "inspected", "restocked", "written_off", "closed")


def _line(session: Session, order: tables.Order, sku: str) -> tables.OrderLine:
    lines = list(session.scalars(select(tables.OrderLine).where(tables.OrderLine.order_id == order.id)
                                 .order_by(tables.OrderLine.id)))
    skus = dict(session.execute(select(tables.Variant.id, tables.Variant.sku)
                                .where(tables.Variant.id.in_([ln.variant_id for ln in lines if ln.variant_id]))).all())
    matching = [ln for ln in lines if sku in (ln.sku, skus.get(ln.variant_id or 0), ln.external_id)]
    if not matching:
        known = ", ".join(sorted({skus.get(ln.variant_id or 0) or ln.sku or ln.external_id for ln in lines}))
        raise ReturnError(f"order {order.number or order.external_id} has no line {sku!r}; its lines: {known}")
    return max(matching, key=lambda ln: flow.returnable(session, ln))


def _variant(session: Session, sku: str) -> tables.Variant:
    variant = session.scalar(select(tables.Variant).where(tables.Variant.sku == sku))
    if variant is None:
        raise ReturnError(f"unknown SKU {sku!r} to send as the replacement; see `marketsync stock levels`")
    return variant


def _get(session: Session, return_id: int) -> tables.Return:
    row = session.get(tables.Return, return_id, with_for_update=True)
    if row is None:
        raise ReturnError(f"no return {return_id}; list them with `marketsync returns list`")
    return row


def create_return(hub: Hub, order_reference: str, sku: str, quantity: int, *, reason: str, actor: str,
                  refund_only: bool = False, exchange_for: str | None = None,
                  reference: str | None = None) -> dict[str, Any]:
    """A return (or exchange, or refund only) of `quantity` units of an order's line."""
    if refund_only and exchange_for:
        raise ReturnError("a refund-only return sends nothing back and nothing out; drop --exchange-for")
    kind = "refund_only" if refund_only else "exchange" if exchange_for else "return"
    with stock_change(hub) as change:
        session = change.session
        order = resolve_order(session, order_reference)
        line = _line(session, order, sku)
        key = f"hand:{order.id}:{line.id}:{reference or uuid.uuid4()}"
        replacement = _variant(session, exchange_for) if exchange_for else None
        row, created = flow.create(change, order, line, quantity, kind=kind, reason=reason, source=f"user:{actor}",
                                   external_key=key, actor=actor, replacement=replacement)
        result = {**described(session, [row])[0], "created": created}
    return result


def take_step(hub: Hub, return_id: int, step: str, *, actor: str, note: str = "",
              location: str | None = None) -> dict[str, Any]:
    """Move a return one step (received, inspected, restocked, written_off, closed); a repeat is a no-op."""
    if step not in STEPS:
        raise ReturnError(f"unknown return step {step!r}; steps: {', '.join(STEPS)}")
    with stock_change(hub) as change:
        session = change.session
        row = _get(session, return_id)
        moved = flow.advance(change, row, Step(step, note, actor), location_code=location)
        result = {**described(session, [row])[0], "moved": moved}
    return result


def ship_replacement(hub: Hub, return_id: int, *, actor: str) -> dict[str, Any]:
    with stock_change(hub) as change:
        session = change.session
        row = _get(session, return_id)
        moved = flow.ship_replacement(change, row, actor=actor)
        result = {**described(session, [row])[0], "moved": moved}
    return result


def list_returns(hub: Hub, *, status: str | None = None, order_reference: str | None = None,
                 limit: int = 200) -> list[dict[str, Any]]:
    with hub.db.session() as session:
        stmt = select(tables.Return).order_by(tables.Return.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(tables.Return.status == status)
        if order_reference is not None:
            stmt = stmt.where(tables.Return.order_id == resolve_order(session, order_reference).id)
        return described(session, list(session.scalars(stmt)))


def show_return(hub: Hub, return_id: int) -> dict[str, Any]:
    with hub.db.session() as session:
        row = _get(session, return_id)
        data = described(session, [row])[0]
        movements = session.scalars(select(tables.StockMovement).where(
            tables.StockMovement.idempotency_key.like(f"return:{row.id}:%")).order_by(tables.StockMovement.id))
        data["movements"] = [{"key": m.idempotency_key, "on_hand_delta": m.on_hand_delta,
                              "committed_delta": m.committed_delta, "reason": m.reason} for m in movements]
        return data
