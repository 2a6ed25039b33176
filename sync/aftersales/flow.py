"""Returns as a flow: requested → received → inspected → restocked or written off; exchanges; refund-only.

Every step is a ledger movement under its own key, so a step repeated — a command run twice, a
channel's after-sale seen again — counts once:

    return:{id}:requested                0 (the buyer asked; nothing has moved yet)
    return:{id}:received                 on hand + qty at the returns location (not sold anywhere)
    return:{id}:inspected                0 (the outcome is in the return's history)
    return:{id}:restock:out / :in        - qty at the returns location, + qty where it is sold again
    return:{id}:written_off              - qty at the returns location
    return:{id}:replacement:commit       an exchange holds the replacement (committed + qty)
    return:{id}:replacement:ship         the replacement leaves (on hand and committed - qty)

A refund-only after-sale (money back, goods stay with the buyer) is recorded with status
`refunded` and moves no stock. Units taken back never exceed the units shipped on the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canonical.errors import MarketsyncError
from store import tables
from store.types import utcnow
from sync.orders.effects import commit_location
from sync.stock import kits
from sync.stock.change import StockChange
from sync.stock.ledger import Movement
from sync.stock.locations import hub_location, order_location_id

RETURNS_LOCATION = "returns"
KINDS = ("return", "exchange", "refund_only")
GOODS_BACK = ("return", "exchange")
# status → the steps that may follow it
NEXT = {"requested": ("received", "closed"), "received": ("inspected", "restocked", "written_off"),
        "inspected": ("restocked", "written_off")}
FINAL = ("restocked", "written_off", "refunded", "closed")


class ReturnError(MarketsyncError):
    """A return step was refused; the message names the return, the step and what to do."""


@dataclass(frozen=True)
class Step:
    name: str
    note: str = ""
    actor: str = "hub"


def _history(row: tables.Return, step: Step, at: datetime) -> None:
    row.history = [*row.history, {"step": step.name, "at": at.isoformat(), "actor": step.actor, "note": step.note}]


def _move(change: StockChange, row: tables.Return, suffix: str, variant_id: int, location_id: int, *,
          on_hand: int = 0, committed: int = 0, reason: str) -> bool:
    return kits.move_line(change.session, Movement(
        key=f"return:{row.id}:{suffix}", variant_id=variant_id, location_id=location_id, on_hand_delta=on_hand,
        committed_delta=committed, reason=reason, source=row.source, reference=f"return {row.id}"), change.move)


def returns_location(session: Session) -> tables.Location:
    """Where returned goods wait for inspection; no channel sells from it."""
    return hub_location(session, RETURNS_LOCATION, create=True)


def returnable(session: Session, line: tables.OrderLine, *, excluding: int | None = None) -> int:
    """Units of the line that can still come back: shipped, less restocked and other open returns."""
    taken = select(func.coalesce(func.sum(tables.Return.quantity), 0)).where(
        tables.Return.order_line_id == line.id, tables.Return.kind.in_(GOODS_BACK),
        tables.Return.status.not_in(("closed", "restocked")))
    if excluding is not None:
        taken = taken.where(tables.Return.id != excluding)
    return line.shipped_quantity - line.restocked_quantity - int(session.scalar(taken) or 0)


def create(change: StockChange, order: tables.Order, line: tables.OrderLine, quantity: int, *, kind: str,
           reason: str, source: str, external_key: str, actor: str,
           replacement: tables.Variant | None = None, checked: bool = True) -> tuple[tables.Return, bool]:
    """The return for `external_key`, created once; (row, created).

    `checked`: refuse more units than can come back (by hand); a channel's report is a fact and
    is recorded as it is (`checked=False`)."""
    session = change.session
    existing = session.scalar(select(tables.Return).where(tables.Return.external_key == external_key))
    if existing is not None:
        return existing, False
    if kind not in KINDS:
        raise ReturnError(f"unknown return kind {kind!r}; kinds: {', '.join(KINDS)}")
    if quantity <= 0:
        raise ReturnError(f"a return needs a positive quantity (got {quantity})")
    if checked and kind in GOODS_BACK and quantity > returnable(session, line):
        raise ReturnError(f"line {line.sku or line.external_id} of order {order.number or order.external_id} has "
                          f"{max(returnable(session, line), 0)} unit(s) that can come back (shipped, not yet "
                          "returned); ship first, or record a refund-only return with --refund-only")
    if kind == "exchange" and replacement is None:
        raise ReturnError("an exchange needs the SKU to send instead (--exchange-for SKU)")
    now = utcnow()
    row = tables.Return(order_id=order.id, order_line_id=line.id, variant_id=line.variant_id, quantity=quantity,
                        kind=kind, status="refunded" if kind == "refund_only" else "requested", reason=reason[:500],
                        source=source, external_key=external_key, history=[], created_at=now, updated_at=now,
                        replacement_variant_id=replacement.id if replacement else None)
    session.add(row)
    session.flush()
    _history(row, Step("refunded" if kind == "refund_only" else "requested", reason, actor), now)
    if kind in GOODS_BACK and line.variant_id is not None:
        _move(change, row, "requested", line.variant_id, returns_location(session).id, reason="return")
    if kind == "exchange" and replacement is not None:
        _hold_replacement(change, row, order, replacement)
    return row, True


def _hold_replacement(change: StockChange, row: tables.Return, order: tables.Order,
                      replacement: tables.Variant) -> None:
    session = change.session
    location = order_location_id(session, order.account_id)
    _move(change, row, "replacement:commit", replacement.id, location, committed=row.quantity, reason="exchange")
    row.replacement_status = "held"


def _require(row: tables.Return, step: str) -> None:
    if row.kind == "refund_only":
        raise ReturnError(f"return {row.id} is refund-only: no goods come back, so there is nothing to {step}")
    allowed = NEXT.get(row.status, ())
    if step not in allowed:
        after = ", ".join(allowed) or "nothing (it is finished)"
        raise ReturnError(f"return {row.id} is {row.status}; it can go to {after}, not {step}")


def advance(change: StockChange, row: tables.Return, step: Step, *, location_code: str | None = None) -> bool:
    """Apply one step; False when the return already took it (a repeat is a no-op)."""
    session = change.session
    if any(item["step"] == step.name for item in row.history):
        return False
    _require(row, step.name)
    variant, returns = row.variant_id, returns_location(session).id
    if variant is None:
        raise ReturnError(f"return {row.id}: its order line is not mapped to a hub SKU; resolve the "
                          "unmapped_order_line conflict first")
    if step.name == "received":
        _move(change, row, "received", variant, returns, on_hand=row.quantity, reason="return")
    elif step.name == "inspected":
        _move(change, row, "inspected", variant, returns, reason="return")
    elif step.name == "restocked":
        _restock(change, row, variant, returns, location_code)
    elif step.name == "written_off":
        if not step.note:
            raise ReturnError(f"return {row.id}: say why it is written off (--reason)")
        _move(change, row, "written_off", variant, returns, on_hand=-row.quantity, reason="write_off")
    elif step.name == "closed" and row.replacement_status == "held":
        _release_replacement(change, row)
    now = utcnow()
    row.status, row.updated_at = step.name, now
    _history(row, step, now)
    return True


def _restock(change: StockChange, row: tables.Return, variant: int, returns: int, location_code: str | None) -> None:
    session = change.session
    line = session.get(tables.OrderLine, row.order_line_id)
    order = session.get(tables.Order, row.order_id)
    assert line is not None and order is not None
    if location_code:
        try:
            target = hub_location(session, location_code, create=False).id
        except LookupError as exc:
            raise ReturnError(f"{exc}; add it with `marketsync locations add {location_code}`") from None
    else:
        target = commit_location(session, order.account_id, order, line) or order_location_id(session, order.account_id)
    _move(change, row, "restock:out", variant, returns, on_hand=-row.quantity, reason="return_restock")
    _move(change, row, "restock:in", variant, target, on_hand=row.quantity, reason="return_restock")
    line.restocked_quantity += row.quantity  # a channel's restocking refund of the same units is capped by it


def mark_restocked_by_channel(change: StockChange, row: tables.Return, refund_id: str, actor: str) -> bool:
    """The channel restocked the units itself: the order's refund movement put them back on hand."""
    if row.status != "requested":
        return False
    now = utcnow()
    row.status, row.updated_at = "restocked", now
    _history(row, Step("restocked", f"restocked by the channel (refund {refund_id})", actor), now)
    return True


def ship_replacement(change: StockChange, row: tables.Return, *, actor: str) -> bool:
    """The exchange's replacement leaves the warehouse (once)."""
    session = change.session
    if row.kind != "exchange" or row.replacement_variant_id is None:
        raise ReturnError(f"return {row.id} is not an exchange; only exchanges ship a replacement")
    if row.replacement_status == "shipped":
        return False
    if row.status == "closed":
        raise ReturnError(f"return {row.id} is closed; its replacement was released")
    order = session.get(tables.Order, row.order_id)
    assert order is not None
    location = order_location_id(session, order.account_id)
    _move(change, row, "replacement:ship", row.replacement_variant_id, location, on_hand=-row.quantity,
          committed=-row.quantity, reason="exchange")
    row.replacement_status = "shipped"
    _history(row, Step("replacement_shipped", "", actor), utcnow())
    return True


def _release_replacement(change: StockChange, row: tables.Return) -> None:
    session = change.session
    order = session.get(tables.Order, row.order_id)
    assert order is not None and row.replacement_variant_id is not None
    _move(change, row, "replacement:release", row.replacement_variant_id,
          order_location_id(session, order.account_id), committed=-row.quantity, reason="exchange")
    row.replacement_status = "released"


def as_dict(row: tables.Return, skus: dict[int, str]) -> dict[str, Any]:
    return {"id": row.id, "order_id": row.order_id, "line_id": row.order_line_id,
            "sku": skus.get(row.variant_id or 0), "quantity": row.quantity, "kind": row.kind, "status": row.status,
            "reason": row.reason, "source": row.source,
            "replacement_sku": skus.get(row.replacement_variant_id or 0), "replacement": row.replacement_status,
            "history": list(row.history), "created_at": row.created_at.isoformat()}
