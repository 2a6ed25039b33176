"""Orders as JSON-safe data for `orders list|show` and for Python callers (the demo)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from canonical.errors import MarketsyncError
from store import tables
from sync.aftersales.views import returns_of_order
from sync.hub.accounts import get_account
from sync.orders.ingest import find_order


class OrderNotFound(MarketsyncError):
    """No order matches the reference; the message says which forms are accepted."""


def resolve_order(session: Session, reference: str) -> tables.Order:
    """An order by hub id (`42`), by the number the merchant sees (`#1001`, unique across accounts),
    or `ACCOUNT:EXTERNAL_ID` / `ACCOUNT:#1001` (`woo:1234`, `shop:#1001`)."""
    reference = reference.strip()
    if reference.isascii() and reference.isdigit() and len(reference) <= 18:  # "²" passes isdigit alone
        found = session.get(tables.Order, int(reference))
    elif reference.startswith("#"):
        found = _by_number(session, reference, None)
    else:
        name, sep, external_id = reference.partition(":")
        if not sep:
            raise OrderNotFound(f"order reference {reference!r} is none of: a hub id (42), an order number "
                                "(#1001), ACCOUNT:#1001 or ACCOUNT:EXTERNAL_ID")
        account = get_account(session, name)
        found = find_order(session, account.id, external_id) or _by_number(session, external_id, account.id)
    if found is None:
        raise OrderNotFound(f"no order {reference!r}; list them with `marketsync orders list`")
    return found


def _by_number(session: Session, number: str, account_id: int | None) -> tables.Order | None:
    """The order whose channel number is `number` (with or without `#`); refused when several accounts have it."""
    bare = number.strip().lstrip("#")
    if not bare:
        return None
    stmt = select(tables.Order).where(or_(tables.Order.number == bare, tables.Order.number == f"#{bare}"))
    if account_id is not None:
        stmt = stmt.where(tables.Order.account_id == account_id)
    found = session.scalars(stmt.order_by(tables.Order.id).limit(2)).all()
    if len(found) > 1:
        raise OrderNotFound(f"order number #{bare} is on several accounts; say which: ACCOUNT:#{bare}")
    return found[0] if found else None


def summary(order: tables.Order, account: tables.Account) -> dict[str, Any]:
    return {"id": order.id, "account": account.name, "external_id": order.external_id, "number": order.number,
            "status": order.status, "currency": order.currency,
            "total": str(order.total) if order.total is not None else None,
            "placed_at": order.placed_at.isoformat(), "channel_updated_at": order.channel_updated_at.isoformat()}


def list_orders(session: Session, *, account: str | None = None, status: str | None = None,
                limit: int = 200) -> list[dict[str, Any]]:
    stmt = (select(tables.Order, tables.Account).join(tables.Account, tables.Account.id == tables.Order.account_id)
            .order_by(tables.Order.placed_at.desc()).limit(limit))
    if account:
        stmt = stmt.where(tables.Account.id == get_account(session, account).id)
    if status:
        stmt = stmt.where(tables.Order.status == status)
    return [summary(order, acc) for order, acc in session.execute(stmt).all()]


def _lines(session: Session, order: tables.Order) -> list[dict[str, Any]]:
    rows = session.scalars(select(tables.OrderLine).where(tables.OrderLine.order_id == order.id)
                           .order_by(tables.OrderLine.id))
    return [{"id": line.id, "external_id": line.external_id, "sku": line.sku, "title": line.title,
             "quantity": line.quantity, "shipped": line.shipped_quantity, "cancelled": line.cancelled_quantity,
             "restocked": line.restocked_quantity, "refunded": line.refunded_quantity, "held": line.held,
             "variant_id": line.variant_id}
            for line in rows]


def _refunds(session: Session, order: tables.Order) -> list[dict[str, Any]]:
    """The channel's refunds as last read: which line, how many units, whether they went back on hand."""
    skus = dict(session.execute(select(tables.OrderLine.external_id, tables.OrderLine.sku)
                                .where(tables.OrderLine.order_id == order.id)).all())
    return [{"id": refund["id"], "lines": [{"line": line_id, "sku": skus.get(line_id), "quantity": int(quantity),
                                            "restock": bool(restock)}
                                           for line_id, quantity, restock in refund["lines"]]}
            for refund in order.channel_state.get("refunds", [])]


def _shipments(session: Session, order: tables.Order) -> list[dict[str, Any]]:
    shipments = session.scalars(select(tables.Shipment).where(tables.Shipment.order_id == order.id)
                                .order_by(tables.Shipment.id)).all()
    result = []
    for shipment in shipments:
        lines = session.execute(select(tables.OrderLine.sku, tables.ShipmentLine.quantity)
                                .join(tables.OrderLine, tables.OrderLine.id == tables.ShipmentLine.order_line_id)
                                .where(tables.ShipmentLine.shipment_id == shipment.id)).all()
        result.append({"id": shipment.id, "carrier": shipment.carrier, "tracking": shipment.tracking_number,
                       "url": shipment.tracking_url, "source": shipment.source, "push_status": shipment.push_status,
                       "push_attempts": shipment.push_attempts, "push_error": shipment.push_error,
                       "external_id": shipment.external_id,
                       "pushed_at": shipment.pushed_at.isoformat() if shipment.pushed_at else None,
                       "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines]})
    return result


def _movements(session: Session, order: tables.Order, account: tables.Account,
               shipment_ids: list[int]) -> list[dict[str, Any]]:
    movement = tables.StockMovement
    conditions = [movement.idempotency_key.like(f"order:{account.id}:{order.external_id}:%")]
    conditions += [movement.idempotency_key.like(f"shipment:{shipment_id}:%") for shipment_id in shipment_ids]
    refunds = [r["id"] for r in order.channel_state.get("refunds", [])]
    conditions += [movement.idempotency_key.like(f"refund:{account.id}:{refund_id}:%") for refund_id in refunds]
    return_ids = session.scalars(select(tables.Return.id).where(tables.Return.order_id == order.id)).all()
    conditions += [movement.idempotency_key.like(f"return:{return_id}:%") for return_id in return_ids]
    rows = session.scalars(select(movement).where(or_(*conditions)).order_by(movement.id))
    return [{"key": m.idempotency_key, "reason": m.reason, "variant_id": m.variant_id, "location_id": m.location_id,
             "on_hand_delta": m.on_hand_delta, "committed_delta": m.committed_delta,
             "at": m.created_at.isoformat()} for m in rows]


def show_order(session: Session, reference: str) -> dict[str, Any]:
    """Everything about one order: lines, movements, shipments (with push status), webhook events."""
    order = resolve_order(session, reference)
    account = session.get(tables.Account, order.account_id)
    assert account is not None
    shipments = _shipments(session, order)
    return {**summary(order, account),
            "customer": {"name": order.customer_name, "email": order.customer_email,
                         "country": order.customer_country, "purged_at": order.purged_at},
            "lines": _lines(session, order), "shipments": shipments, "refunds": _refunds(session, order),
            "refunded_total": str(order.refunded_total) if order.refunded_total is not None else None,
            "movements": _movements(session, order, account, [s["id"] for s in shipments]),
            "returns": returns_of_order(session, order.id),
            "webhook_events": list(order.channel_state.get("webhook_events", []))}
