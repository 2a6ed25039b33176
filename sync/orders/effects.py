"""What an order line does to the stock ledger: commit, release, ship and restock movements.

Every effect is a movement with an idempotency key built from stable ids (account id, the
channel's order and line ids, the hub's shipment id), so replaying any order, event or
shipment never counts twice. All movements of a line go to the hub location its commit went
to, so an operator remapping locations later never strands committed stock.

Per line the hub keeps running totals in `order_lines`: `cancelled_quantity` (units whose
commitment was released), `shipped_quantity`, `restocked_quantity`. Invariant kept here:
`cancelled_quantity + shipped_quantity <= quantity`, so committed is never released twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonical import OrderStatus
from store import tables
from store.memo import recall
from sync.stock import kits
from sync.stock.change import StockChange
from sync.stock.desired import restocks_paid_orders
from sync.stock.ledger import Movement
from sync.stock.locations import order_location_id

log = logging.getLogger(__name__)

# Orders placed this long before the account was connected are history (see `is_history`);
# the grace absorbs clock skew between the channel and the hub.
HISTORY_GRACE = timedelta(seconds=60)


def line_key(account_id: int, order: tables.Order, line: tables.OrderLine, what: str) -> str:
    return f"order:{account_id}:{order.external_id}:{line.external_id}:{what}"


def is_history(account: tables.Account, order: tables.Order) -> bool:
    """True for an order placed before its account was connected to the hub.

    Decision: such orders are recorded (and can be shipped, with tracking pushed), but they
    never move stock: the stock baseline imported from the channel already reflects them, so a
    backfill (`orders import --since` a year ago) does not count a year of sales twice.
    """
    return order.placed_at < account.created_at - HISTORY_GRACE


def commit_location(session: Session, account_id: int, order: tables.Order, line: tables.OrderLine) -> int | None:
    """The hub location the line's commit went to; None when the line never committed."""
    key = line_key(account_id, order, line, "commit")
    return session.scalar(select(tables.StockMovement.location_id).where(tables.StockMovement.idempotency_key == key))


def open_units(line: tables.OrderLine) -> int:
    """Units still waiting to ship: neither shipped nor released."""
    return line.quantity - line.shipped_quantity - line.cancelled_quantity


def _move(change: StockChange, movement: Movement) -> bool:
    """A line's movement, through its components when the line is a kit's (`sync.stock.kits`)."""
    return kits.move_line(change.session, movement, change.move)


def is_tracked(session: Session, variant_id: int) -> bool:
    """Whether the hub counts the variant's stock (False for gift cards, digital goods)."""
    return recall(session, ("tracked", variant_id), lambda: session.scalar(
        select(tables.Variant.tracked).where(tables.Variant.id == variant_id)) is not False)


def kept_by_channel(account: tables.Account, order: tables.Order) -> bool:
    """An order paid, then cancelled or refunded before the hub committed it, on a platform that never
    puts a paid order's units back (微信小店): the channel's own count took the sale and kept it. Its
    lines commit and are released at once — the ledger nets to nothing, and a relative writer's
    acknowledged number follows the channel (down at the commit, not up at the release), so the
    hub writes the units back. The chaos run found such listings 1-3 units below the hub's number."""
    return (order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED) and bool(order.channel_state.get("paid"))
            and not restocks_paid_orders(account.platform))


def commit(change: StockChange, account: tables.Account, order: tables.Order, line: tables.OrderLine) -> int | None:
    """Commit the line's units once; returns the location (None if the order does not commit yet)."""
    session = change.session
    location = commit_location(session, account.id, order, line)
    if location is not None or line.variant_id is None:
        return location
    if not is_tracked(session, line.variant_id):
        return None  # a gift card or digital good: the ledger keeps no count, so nothing commits or ships
    if order.status not in (OrderStatus.OPEN, OrderStatus.COMPLETED) and not kept_by_channel(account, order):
        return None  # pending: not paid yet; cancelled/refunded before it ever committed: nothing to hold
    location = order_location_id(session, account.id)
    applied = _move(change, Movement(
        key=line_key(account.id, order, line, "commit"), variant_id=line.variant_id, location_id=location,
        committed_delta=line.quantity, reason="order_commit", source=f"order:{account.name}",
        reference=order.number or order.external_id))
    if applied and line.listing_id is not None:
        change.channel_sold(line.listing_id, line.quantity)
    return location


def release_to(change: StockChange, account: tables.Account, order: tables.Order, line: tables.OrderLine,
               location: int, target: int) -> int:
    """Raise the line's released total to `target` (capped so nothing is released twice)."""
    target = min(target, line.quantity - line.shipped_quantity)
    delta = target - line.cancelled_quantity
    if delta <= 0 or line.variant_id is None:
        return 0
    _move(change, Movement(
        key=line_key(account.id, order, line, f"cancel:{target}"), variant_id=line.variant_id,
        location_id=location, committed_delta=-delta, reason="order_cancel", source=f"order:{account.name}",
        reference=order.number or order.external_id))
    line.cancelled_quantity = target
    if line.listing_id is not None:
        change.channel_restocked(line.listing_id, delta)
    return delta


def restock(change: StockChange, account: tables.Account, order: tables.Order, line: tables.OrderLine,
            location: int, refund_id: str, quantity: int) -> int:
    """A refund with restock puts shipped units back on hand (only units that had shipped)."""
    units = min(quantity, line.shipped_quantity - line.restocked_quantity)
    if units <= 0 or line.variant_id is None:
        return 0
    applied = _move(change, Movement(
        key=f"refund:{account.id}:{refund_id}:{line.external_id}", variant_id=line.variant_id,
        location_id=location, on_hand_delta=units, reason="refund_restock", source=f"order:{account.name}",
        reference=order.number or order.external_id))
    if not applied:
        return 0
    line.restocked_quantity += units
    if line.listing_id is not None:
        change.channel_restocked(line.listing_id, units)
    return units


def ship(change: StockChange, shipment: tables.Shipment, line: tables.OrderLine, location: int | None,
         quantity: int) -> None:
    """Shipped units leave on_hand and committed (no movement for lines that never committed)."""
    line.shipped_quantity += quantity
    if location is None or line.variant_id is None:
        return
    _move(change, Movement(
        key=f"shipment:{shipment.id}:{line.id}", variant_id=line.variant_id, location_id=location,
        on_hand_delta=-quantity, committed_delta=-quantity, reason="shipment", source=shipment.source,
        reference=shipment.tracking_number))
