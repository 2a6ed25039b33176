"""Order flows with Shopify's inventory effects.

- buying commits stock: `committed` up, `available` down, `on_hand` unchanged; a DENY
  variant without enough available stock refuses the order, a CONTINUE variant oversells;
- fulfilling ships it: `on_hand` and `committed` down;
- cancelling releases unshipped units: with restock `committed` down (available back up),
  without restock `committed` and `on_hand` down (the units are written off);
- refunding shipped units with restock (RETURN) puts them back: `on_hand` and `available` up.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.shopify.model import (
    Fulfillment,
    FulfillmentOrder,
    LineItem,
    Order,
    Refund,
    RefundLine,
    now,
)
from sandbox.shopify.store import Store, StoreError


def place_order(store: Store, lines: list[dict[str, Any]], *, customer: dict[str, Any] | None = None,
                email: str | None = None) -> Order:
    """A buyer checks out `lines` ([{"sku", "quantity"}]); stock is committed at one location."""
    with store.lock:
        if not lines:
            raise StoreError(f"shop {store.shop}: an order needs at least one line", "INVALID")
        wanted = [(store.variant_by_sku(str(line["sku"])), int(line["quantity"])) for line in lines]
        if any(quantity <= 0 for _, quantity in wanted):
            raise StoreError(f"shop {store.shop}: order quantities must be positive", "INVALID")
        location_id = _choose_location(store, wanted)
        moment = now()
        items = [LineItem(store.next_id("line"), v.id, v.product_id, v.sku,
                          store.products[v.product_id].title, v.title, quantity,
                          Decimal(line.get("price", v.price)))
                 for (v, quantity), line in zip(wanted, lines, strict=True)]
        customer = customer or None
        order = Order(store.next_id("order"), store.next_order_number, email or (customer or {}).get("email"),
                      customer, store.currency, items, moment, moment)
        store.next_order_number += 1
        fulfillment_order = FulfillmentOrder(store.next_id("fo"), order.id, location_id,
                                             {store.next_id("foline"): li.id for li in items}, moment, moment)
        store.fulfillment_orders[fulfillment_order.id] = fulfillment_order
        order.fulfillment_order_ids.append(fulfillment_order.id)
        store.orders[order.id] = order
        for (variant, quantity), item in zip(wanted, items, strict=True):
            store.change_level(store.item_of(variant), location_id, committed_delta=quantity, kind="order",
                               source="buyer", order=order.name, line_item_id=item.id)
        store.emit("ORDERS_CREATE", order)
        return order


def _choose_location(store: Store, wanted: list[tuple[Any, int]]) -> int:
    """The first location that can ship every line; oversellable lines never block."""
    for location_id in store.locations:
        if all(_can_sell(store, variant, location_id, quantity) for variant, quantity in wanted):
            return location_id
    short = [v.sku for v, q in wanted if not any(_can_sell(store, v, loc, q) for loc in store.locations)]
    raise StoreError(f"shop {store.shop}: not enough stock for SKU(s) {', '.join(map(str, short))}; "
                     "set the variant's inventory policy to CONTINUE to oversell", "NOT_ENOUGH_STOCK")


def _can_sell(store: Store, variant: Any, location_id: int, quantity: int) -> bool:
    item = store.item_of(variant)
    if variant.inventory_policy == "CONTINUE" or not item.tracked:
        return True
    return item.levels[location_id].available >= quantity


def order_by_id(store: Store, order_id: int | str) -> Order:
    number = int(str(order_id).rsplit("/", 1)[-1])
    order = store.orders.get(number)
    if order is None:
        raise StoreError(f"shop {store.shop}: no order {order_id}", "NOT_FOUND")
    return order


def fulfil(store: Store, fulfillment_order: FulfillmentOrder, wanted: dict[int, int], *,
           tracking: list[dict[str, str | None]], notify_customer: bool = False, source: str = "api") -> Fulfillment:
    """Ship `wanted` ({fulfillment-order line item id: quantity}; empty = everything left)."""
    with store.lock:
        order = store.orders[fulfillment_order.order_id]
        if fulfillment_order.status in ("CLOSED", "CANCELLED") or order.cancelled_at:
            raise StoreError(f"fulfillment order {fulfillment_order.id} is {fulfillment_order.status.lower()}",
                             "INVALID")
        line_items = {li.id: li for li in order.line_items}
        if not wanted:
            wanted = {fo_line: line_items[li].unfulfilled for fo_line, li in fulfillment_order.line_item_ids.items()}
        for fo_line, quantity in wanted.items():
            if fo_line not in fulfillment_order.line_item_ids:
                raise StoreError(f"fulfillment order line item {fo_line} is not on fulfillment order "
                                 f"{fulfillment_order.id}", "NOT_FOUND")
            if quantity <= 0 or quantity > line_items[fulfillment_order.line_item_ids[fo_line]].unfulfilled:
                raise StoreError(f"invalid quantity {quantity} for fulfillment order line item {fo_line}",
                                 "INVALID")
        moment = now()
        lines = [(store.next_id("fline"), fulfillment_order.line_item_ids[fo], q) for fo, q in wanted.items() if q]
        fulfillment = Fulfillment(store.next_id("fulfillment"), order.id, fulfillment_order.id,
                                  fulfillment_order.location_id, f"{order.name}.{len(order.fulfillment_ids) + 1}",
                                  lines, tracking, notify_customer, moment, moment)
        for _, line_item_id, quantity in lines:
            line_item = line_items[line_item_id]
            line_item.fulfilled += quantity
            _move(store, line_item, fulfillment_order.location_id, on_hand=-quantity, committed=-quantity,
                  kind="fulfillment", order=order.name, source=source)
        store.fulfillments[fulfillment.id] = fulfillment
        order.fulfillment_ids.append(fulfillment.id)
        left = sum(line_items[li].unfulfilled for li in fulfillment_order.line_item_ids.values())
        fulfillment_order.status = "CLOSED" if not left else "IN_PROGRESS"
        fulfillment_order.updated_at = order.updated_at = moment
        store.emit("FULFILLMENTS_CREATE", fulfillment)
        store.emit("ORDERS_UPDATED", order)
        return fulfillment


def cancel(store: Store, order: Order, *, restock: bool, reason: str = "OTHER", source: str = "merchant") -> Order:
    """Cancel `order`: unshipped units are released (restocked or written off) and refunded."""
    with store.lock:
        if order.cancelled_at:
            raise StoreError(f"order {order.name} is already cancelled", "INVALID")
        location_id = _order_location(store, order)
        refund_lines = []
        for line_item in order.line_items:
            quantity = line_item.unfulfilled
            if quantity <= 0:
                continue
            line_item.removed_unfulfilled += quantity
            _release(store, line_item, location_id, quantity, restock, kind="cancel", order=order.name,
                     source=source)
            refund_lines.append(RefundLine(store.next_id("rline"), line_item.id, quantity,
                                           "CANCEL" if restock else "NO_RESTOCK", location_id))
        moment = now()
        if refund_lines:
            order.refunds.append(Refund(store.next_id("refund"), order.id, refund_lines, "Order cancelled", moment))
        for fo_id in order.fulfillment_order_ids:
            fulfillment_order = store.fulfillment_orders[fo_id]
            fulfillment_order.status = "CLOSED" if order.fulfillment_ids else "CANCELLED"
        order.cancelled_at = order.updated_at = moment
        order.cancel_reason = reason.upper()
        order.financial_status = "REFUNDED"
        store.emit("ORDERS_CANCELLED", order)
        store.emit("ORDERS_UPDATED", order)
        return order


def refund(store: Store, order: Order, lines: list[dict[str, Any]] | None, *, restock: bool,
           note: str | None = None) -> Refund:
    """Refund `lines` ([{"sku", "quantity"}], None = everything left); unshipped units go first."""
    with store.lock:
        wanted = _refund_wanted(store, order, lines)
        location_id = _order_location(store, order)
        refund_lines = []
        for line_item, quantity in wanted:
            unshipped = min(quantity, line_item.unfulfilled)
            if unshipped:
                line_item.removed_unfulfilled += unshipped
                _release(store, line_item, location_id, unshipped, restock, kind="refund", order=order.name)
                refund_lines.append(RefundLine(store.next_id("rline"), line_item.id, unshipped,
                                               "CANCEL" if restock else "NO_RESTOCK", location_id))
            shipped = quantity - unshipped
            if shipped:
                line_item.refunded_fulfilled += shipped
                if restock:
                    _move(store, line_item, location_id, on_hand=shipped, committed=0, kind="refund",
                          order=order.name)
                refund_lines.append(RefundLine(store.next_id("rline"), line_item.id, shipped,
                                               "RETURN" if restock else "NO_RESTOCK", location_id))
        moment = now()
        record = Refund(store.next_id("refund"), order.id, refund_lines, note, moment)
        order.refunds.append(record)
        left = sum(li.current_quantity for li in order.line_items)
        order.financial_status = "REFUNDED" if not left else "PARTIALLY_REFUNDED"
        order.updated_at = moment
        for fo_id in order.fulfillment_order_ids:
            fulfillment_order = store.fulfillment_orders[fo_id]
            if not any(li.unfulfilled for li in order.line_items if li.id in fulfillment_order.line_item_ids.values()):
                fulfillment_order.status = "CLOSED"
                fulfillment_order.updated_at = moment
        store.emit("ORDERS_UPDATED", order)
        return record


def _refund_wanted(store: Store, order: Order, lines: list[dict[str, Any]] | None) -> list[tuple[LineItem, int]]:
    if lines is None:
        wanted = [(li, li.current_quantity) for li in order.line_items if li.current_quantity > 0]
    else:
        by_sku = {li.sku: li for li in order.line_items}
        wanted = []
        for line in lines:
            line_item = by_sku.get(str(line["sku"]))
            if line_item is None:
                raise StoreError(f"order {order.name} has no line with SKU {line['sku']!r}", "NOT_FOUND")
            wanted.append((line_item, int(line["quantity"])))
    for line_item, quantity in wanted:
        if quantity <= 0 or quantity > line_item.current_quantity:
            raise StoreError(f"order {order.name}: cannot refund {quantity} of SKU {line_item.sku!r} "
                             f"({line_item.current_quantity} refundable)", "INVALID")
    if not wanted:
        raise StoreError(f"order {order.name} has nothing left to refund", "INVALID")
    return wanted


def _order_location(store: Store, order: Order) -> int:
    return store.fulfillment_orders[order.fulfillment_order_ids[0]].location_id


def _release(store: Store, line_item: LineItem, location_id: int, quantity: int, restock: bool, *,
             kind: str, order: str, source: str = "merchant") -> None:
    """Unshipped units leave `committed`; without restock they leave `on_hand` too."""
    _move(store, line_item, location_id, on_hand=0 if restock else -quantity, committed=-quantity,
          kind=kind, order=order, source=source)


def _move(store: Store, line_item: LineItem, location_id: int, *, on_hand: int, committed: int, kind: str,
          order: str, source: str = "merchant") -> None:
    variant = store.variants.get(line_item.variant_id or 0)
    if variant is None:
        return  # the variant was deleted since the order was placed
    item = store.item_of(variant)
    if location_id in item.levels:
        store.change_level(item, location_id, on_hand_delta=on_hand, committed_delta=committed, kind=kind,
                           source=source, order=order,
                           line_item_id=line_item.id)
