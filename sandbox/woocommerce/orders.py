"""Order life cycle with WooCommerce's stock rules.

An order entering processing / completed / on-hold reduces stock once (`_order_stock_reduced`);
cancelled or pending restores what each line took (`_reduced_stock`); a refund with restock
puts the refunded quantity back. Status changes and stock moves leave system notes, as
WooCommerce does. Callers hold `store.lock`.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from sandbox.woocommerce.errors import WooError, invalid_id
from sandbox.woocommerce.model import (
    ORDER_STATUS_LABELS,
    STOCK_REDUCING_STATUSES,
    LineItem,
    Note,
    Order,
    Product,
    Refund,
    Tracking,
)
from sandbox.woocommerce.store import OutOfStock, WooStore

DEFAULT_CUSTOMER = {
    "first_name": "Sam", "last_name": "Buyer", "company": "", "address_1": "1 Example Street",
    "address_2": "", "city": "Berlin", "state": "", "postcode": "10115", "country": "DE",
    "email": "sam.buyer@example.com", "phone": "",
}


def find_order(store: WooStore, order_id: int, *, status: int = 404) -> Order:
    order = store.order(order_id)
    if order is None:
        raise invalid_id("shop_order", status)
    return order


def place_order(store: WooStore, lines: list[dict[str, Any]], *, customer: dict[str, Any] | None = None,
                status: str = "processing", customer_note: str = "") -> Order:
    """A buyer checks out; refused (OutOfStock) when a line exceeds stock without backorders."""
    if not lines:
        raise ValueError("an order needs at least one line")
    items = [_line_item(store, line) for line in lines]
    if status in STOCK_REDUCING_STATUSES:
        _check_stock(store, items)
    now = store.now()
    billing = {**DEFAULT_CUSTOMER, **(customer or {})}
    shipping = {k: v for k, v in billing.items() if k not in ("email",)}
    order_id = store.post_id()
    key = "wc_order_" + hashlib.sha1(f"{order_id}:{now.isoformat()}".encode()).hexdigest()[:13]
    order = Order(id=order_id, order_key=key, status="pending", currency=store.currency, created=now,
                  modified=now, billing={k: str(v) for k, v in billing.items()}, shipping=shipping,
                  line_items=items, customer_note=customer_note)
    store.orders[order.id] = order
    store.notes[order.id] = []
    if status != "pending":
        change_status(store, order, status)
    store.emit("order.created", order.id)
    return order


def _line_item(store: WooStore, line: dict[str, Any]) -> LineItem:
    product = store.by_sku(str(line["sku"]))
    quantity = int(line.get("quantity", 1))
    if quantity < 1:
        raise ValueError(f"quantity for {product.sku} must be at least 1")
    parent = store.product(product.parent_id) if product.parent_id else None
    name = f"{parent.name} - {product.option}" if parent else product.name
    return LineItem(id=store.item_id(), product_id=parent.id if parent else product.id,
                    variation_id=product.id if parent else 0, name=name, sku=product.sku,
                    quantity=quantity, price=Decimal(product.price or "0"), option=product.option)


def _stock_item(store: WooStore, line: LineItem) -> Product | None:
    product = store.product(line.variation_id or line.product_id)
    return product if product is not None and product.manage_stock else None


def _check_stock(store: WooStore, items: list[LineItem]) -> None:
    wanted: dict[int, int] = {}
    for line in items:
        product = _stock_item(store, line)
        if product is not None:
            wanted[product.id] = wanted.get(product.id, 0) + line.quantity
    for product_id, quantity in wanted.items():
        product = store.products[product_id]
        if not product.backorders_allowed and quantity > (product.stock_quantity or 0):
            raise OutOfStock(f"Sorry, we do not have enough \"{product.name}\" ({product.sku}) in stock to "
                             f"fulfill your order ({product.stock_quantity} available).")


def change_status(store: WooStore, order: Order, status: str, *, restock: bool = True,
                  note: str = "") -> None:
    """Move an order to `status` with WooCommerce's stock side effects and a system note."""
    old = order.status
    if old == status:
        return
    order.status = status
    now = store.now()
    if status in ("processing", "completed") and order.date_paid is None:
        order.date_paid = now
    if status == "completed":
        order.date_completed = now
    add_note(store, order, f"{note} Order status changed from {ORDER_STATUS_LABELS.get(old, old)} to "
                           f"{ORDER_STATUS_LABELS[status]}.".strip())
    if status in STOCK_REDUCING_STATUSES and not order.stock_reduced:
        reduce_stock(store, order)
    elif status in ("cancelled", "pending") and order.stock_reduced and restock:
        restore_stock(store, order)
    if status == "refunded" and remaining_refund(order) > 0:
        _fully_refunded(store, order)
    order.modified = store.now()


def _fully_refunded(store: WooStore, order: Order) -> None:
    """wc_order_fully_refunded: the remainder is refunded as an amount; nothing is restocked."""
    order.refunds.append(Refund(id=store.post_id(), reason="Order fully refunded.",
                                amount=remaining_refund(order), created=store.now()))
    add_note(store, order, "Order status set to refunded. To return funds to the customer you will need "
                           "to issue a refund through your payment gateway.")


def reduce_stock(store: WooStore, order: Order) -> None:
    changes = []
    for line in order.line_items:
        product = _stock_item(store, line)
        if product is None or line.reduced_stock:
            continue
        before = product.stock_quantity or 0
        store.write_stock(product, before - line.quantity, source="order", order_id=order.id)
        product.total_sales += line.quantity
        line.reduced_stock = line.quantity
        changes.append(f"{line.name} ({product.sku}) {before}&rarr;{before - line.quantity}")
    order.stock_reduced = True
    if changes:
        add_note(store, order, "Stock levels reduced: " + ", ".join(changes))


def restore_stock(store: WooStore, order: Order) -> None:
    changes = []
    for line in order.line_items:
        product = _stock_item(store, line)
        if product is None or not line.reduced_stock:
            continue
        before = product.stock_quantity or 0
        store.write_stock(product, before + line.reduced_stock, source="cancel", order_id=order.id)
        changes.append(f"{line.name} ({product.sku}) {before}&rarr;{before + line.reduced_stock}")
        line.reduced_stock = 0
    order.stock_reduced = False
    if changes:
        add_note(store, order, "Stock levels increased: " + ", ".join(changes))


def remaining_refund(order: Order) -> Decimal:
    return order.total - sum((r.amount for r in order.refunds), Decimal("0"))


def refund_order(store: WooStore, order: Order, *, lines: list[dict[str, Any]] | None = None,
                 restock: bool = True, reason: str = "") -> Refund:
    """Refund lines (all remaining quantities by default), optionally restocking them."""
    quantities = _refund_quantities(order, lines)
    amount = sum((line.price * quantities.get(line.id, 0) for line in order.line_items), Decimal("0"))
    if lines is None:
        amount = remaining_refund(order)
    if amount <= 0 and not quantities:
        raise WooError("woocommerce_rest_cannot_create_order_refund",
                       "Refund amount must be greater than zero.", 400)
    refund = Refund(id=store.post_id(), reason=reason, amount=amount, created=store.now(), lines=quantities)
    order.refunds.append(refund)
    for line in order.line_items:
        quantity = quantities.get(line.id, 0)
        line.refunded_quantity += quantity
        if restock and quantity:
            _restock_line(store, order, line, quantity)
    if remaining_refund(order) <= 0 and order.status != "refunded":
        change_status(store, order, "refunded")
    order.modified = store.now()
    return refund


def _refund_quantities(order: Order, lines: list[dict[str, Any]] | None) -> dict[int, int]:
    if lines is None:
        return {line.id: line.quantity - line.refunded_quantity for line in order.line_items
                if line.quantity > line.refunded_quantity}
    quantities: dict[int, int] = {}
    for wanted in lines:
        match = [line for line in order.line_items
                 if line.id == wanted.get("line_id", wanted.get("id")) or line.sku == wanted.get("sku")]
        if not match:
            raise ValueError(f"order {order.id} has no line {wanted}")
        line = match[0]
        quantity = int(wanted.get("quantity", line.quantity - line.refunded_quantity))
        if quantity < 1 or quantity > line.quantity - line.refunded_quantity:
            raise ValueError(f"cannot refund {quantity} of line {line.id} ({line.sku}) on order {order.id}")
        quantities[line.id] = quantities.get(line.id, 0) + quantity
    return quantities


def _restock_line(store: WooStore, order: Order, line: LineItem, quantity: int) -> None:
    product = _stock_item(store, line)
    if product is None:
        return
    before = product.stock_quantity or 0
    store.write_stock(product, before + quantity, source="refund", order_id=order.id)
    line.reduced_stock = max(0, line.reduced_stock - quantity)
    add_note(store, order, f"Item #{product.id} stock increased from {before} to {before + quantity}.")


def add_note(store: WooStore, order: Order, text: str, *, customer_note: bool = False,
             author: str = "system") -> Note:
    note = Note(id=store.comment_id(), order_id=order.id, note=text, customer_note=customer_note,
                created=store.now(), author=author)
    store.notes.setdefault(order.id, []).append(note)
    return note


def add_tracking(store: WooStore, order: Order, data: dict[str, Any]) -> Tracking:
    """Shipment Tracking: a predefined provider, or a custom provider with its own link."""
    number = str(data.get("tracking_number") or "").strip()
    if not number:
        raise WooError("woocommerce_rest_shop_order_shipment_tracking_missing_number",
                       "Missing tracking number.", 400)
    provider = str(data.get("custom_tracking_provider") or data.get("tracking_provider") or "").strip()
    link = str(data.get("custom_tracking_link") or "")
    if not link and provider:
        link = f"https://tracking.example.com/{provider.lower().replace(' ', '-')}/{number}"
    shipped = str(data.get("date_shipped") or store.local(store.now()).date().isoformat())[:10]
    tracking_id = hashlib.md5(f"{order.id}:{number}:{provider}:{len(order.trackings)}".encode()).hexdigest()
    tracking = Tracking(tracking_id, provider, link.replace("%1$s", number), number, shipped)
    order.trackings.append(tracking)
    add_note(store, order, f"Shipment tracking added: {provider} {number}.")
    order.modified = store.now()
    return tracking
