"""Orders, line items, fulfillment orders, fulfillments and refunds as GraphQL objects."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.shopify import views
from sandbox.shopify.model import Fulfillment, FulfillmentOrder, LineItem, Order, Refund, RefundLine, gid, iso
from sandbox.shopify.views import Ctx, View, money_bag

ORDER_STATUS = {"open": lambda o: not o.cancelled_at, "cancelled": lambda o: bool(o.cancelled_at)}


def order_search_fields() -> dict[str, Any]:
    return {
        "id": lambda o: o.id, "name": lambda o: [o.name, str(o.number)], "updated_at": lambda o: o.updated_at,
        "created_at": lambda o: o.created_at, "processed_at": lambda o: o.created_at,
        "financial_status": lambda o: o.financial_status.lower(),
        "fulfillment_status": lambda o: _rest_fulfillment_status(o),
        "status": lambda o: "cancelled" if o.cancelled_at else "open",
        "sku": lambda o: [li.sku for li in o.line_items], "email": lambda o: o.email,
    }


def _rest_fulfillment_status(order: Order) -> str:
    return {"FULFILLED": "shipped", "PARTIALLY_FULFILLED": "partial"}.get(order.fulfillment_status(), "unshipped")


def order(ctx: Ctx, record: Order) -> View:
    store, currency = ctx.store, record.currency
    refunded = sum((_line_price(record, r) * r.quantity for f in record.refunds for r in f.lines), Decimal("0"))
    current = sum((li.price * li.current_quantity for li in record.line_items), Decimal("0"))
    status = record.fulfillment_status()
    return {
        "__typename": "Order", "id": gid("Order", record.id), "legacyResourceId": str(record.id),
        "name": record.name, "number": record.number, "email": record.email, "phone": None, "note": None,
        "tags": [], "test": False, "confirmed": True, "closed": False, "closedAt": None,
        "createdAt": iso(record.created_at), "updatedAt": iso(record.updated_at),
        "processedAt": iso(record.created_at), "cancelledAt": iso(record.cancelled_at),
        "cancelReason": record.cancel_reason, "currencyCode": currency, "presentmentCurrencyCode": currency,
        "displayFinancialStatus": record.financial_status, "displayFulfillmentStatus": status,
        "fullyPaid": True, "unpaid": False, "fulfillable": any(li.unfulfilled for li in record.line_items),
        "requiresShipping": True, "restockable": True, "refundable": current > 0, "edited": False,
        "totalPriceSet": money_bag(record.total(), currency),
        "subtotalPriceSet": money_bag(record.total(), currency),
        "currentTotalPriceSet": money_bag(current, currency),
        "currentSubtotalPriceSet": money_bag(current, currency),
        "totalRefundedSet": money_bag(refunded, currency),
        "totalTaxSet": money_bag(Decimal("0"), currency), "totalShippingPriceSet": money_bag(Decimal("0"), currency),
        "totalDiscountsSet": money_bag(Decimal("0"), currency),
        "subtotalLineItemsQuantity": sum(li.quantity for li in record.line_items),
        "currentSubtotalLineItemsQuantity": sum(li.current_quantity for li in record.line_items),
        "customer": None,
        "lineItems": lambda a: ctx.connection(record.line_items, a, lambda li: line_item(ctx, record, li)),
        "fulfillmentOrders": lambda a: ctx.connection(
            [store.fulfillment_orders[i] for i in record.fulfillment_order_ids], a,
            lambda fo: fulfillment_order(ctx, fo)),
        "fulfillments": lambda a: [fulfillment(ctx, store.fulfillments[i])
                                   for i in record.fulfillment_ids][: a.get("first") or None],
        "refunds": lambda a: [refund(ctx, record, r) for r in record.refunds][: a.get("first") or None],
    }


def _line_price(record: Order, line: RefundLine) -> Decimal:
    return next(li.price for li in record.line_items if li.id == line.line_item_id)


def line_item(ctx: Ctx, record: Order, item: LineItem) -> View:
    store, currency = ctx.store, record.currency
    variant = store.variants.get(item.variant_id or 0)
    product = store.products.get(item.product_id or 0)
    return {
        "__typename": "LineItem", "id": gid("LineItem", item.id), "name": f"{item.title} - {item.variant_title}",
        "title": item.title, "variantTitle": item.variant_title, "sku": item.sku, "vendor": None,
        "quantity": item.quantity, "currentQuantity": item.current_quantity,
        "unfulfilledQuantity": item.unfulfilled, "fulfillableQuantity": 0 if record.cancelled_at else item.unfulfilled,
        "refundableQuantity": item.current_quantity, "nonFulfillableQuantity": item.quantity - item.unfulfilled,
        "fulfillmentStatus": "fulfilled" if item.fulfilled and not item.unfulfilled else "unfulfilled",
        "requiresShipping": True, "taxable": True, "restockable": True, "isGiftCard": False,
        "merchantEditable": True, "canRestock": True,
        "originalUnitPriceSet": money_bag(item.price, currency),
        "discountedUnitPriceSet": money_bag(item.price, currency),
        "discountedUnitPriceAfterAllDiscountsSet": money_bag(item.price, currency),
        "originalTotalSet": money_bag(item.price * item.quantity, currency),
        "discountedTotalSet": lambda a: money_bag(item.price * item.quantity, currency),
        "totalDiscountSet": money_bag(Decimal("0"), currency),
        "variant": (lambda a: views.variant(ctx, variant)) if variant else None,
        "product": (lambda a: views.product(ctx, product)) if product else None,
    }


def fulfillment_order(ctx: Ctx, record: FulfillmentOrder) -> View:
    store = ctx.store
    parent = store.orders[record.order_id]
    location = store.locations[record.location_id]
    lines = {li.id: li for li in parent.line_items}

    def fo_line(pair: tuple[int, int]) -> View:
        fo_line_id, line_id = pair
        item = lines[line_id]
        variant = store.variants.get(item.variant_id or 0)
        return {"__typename": "FulfillmentOrderLineItem", "id": gid("FulfillmentOrderLineItem", fo_line_id),
                "remainingQuantity": 0 if parent.cancelled_at else item.unfulfilled,
                "totalQuantity": item.quantity - item.removed_unfulfilled, "sku": item.sku,
                "productTitle": item.title, "variantTitle": item.variant_title, "vendor": None,
                "requiresShipping": True, "warnings": [], "financialSummaries": [],
                "inventoryItemId": gid("InventoryItem", variant.inventory_item_id) if variant else None,
                "lineItem": lambda a: line_item(ctx, parent, item),
                "variant": (lambda a: views.variant(ctx, variant)) if variant else None}

    pairs = [_Pair(fo, li) for fo, li in record.line_item_ids.items()]
    return {
        "__typename": "FulfillmentOrder", "id": gid("FulfillmentOrder", record.id),
        "orderId": gid("Order", parent.id), "orderName": parent.name, "status": record.status,
        "requestStatus": "UNSUBMITTED", "createdAt": iso(record.created_at), "updatedAt": iso(record.updated_at),
        "orderProcessedAt": iso(parent.created_at), "fulfillAt": None, "fulfillBy": None,
        "fulfillmentHolds": [],
        "supportedActions": [{"action": "CREATE_FULFILLMENT", "externalUrl": None}]
        if record.status in ("OPEN", "IN_PROGRESS") else [],
        "assignedLocation": {"name": location.name, "countryCode": "DE", "city": "Berlin",
                             "location": lambda a: views.location(ctx, location)},
        "lineItems": lambda a: ctx.connection(pairs, a, lambda p: fo_line((p.id, p.line_id))),
        "fulfillments": lambda a: ctx.connection(
            [store.fulfillments[i] for i in parent.fulfillment_ids
             if store.fulfillments[i].fulfillment_order_id == record.id], a, lambda f: fulfillment(ctx, f)),
        "order": lambda a: order(ctx, parent),
    }


class _Pair:
    """A fulfillment-order line item id and its order line item id, paginated by the former."""

    def __init__(self, fo_line_id: int, line_id: int) -> None:
        self.id, self.line_id = fo_line_id, line_id


def fulfillment(ctx: Ctx, record: Fulfillment) -> View:
    store = ctx.store
    parent = store.orders[record.order_id]
    lines = {li.id: li for li in parent.line_items}
    rows = [_Row(fid, lid, qty) for fid, lid, qty in record.lines]
    return {
        "__typename": "Fulfillment", "id": gid("Fulfillment", record.id), "legacyResourceId": str(record.id),
        "name": record.name, "status": record.status, "displayStatus": "FULFILLED",
        "createdAt": iso(record.created_at), "updatedAt": iso(record.updated_at), "deliveredAt": None,
        "inTransitAt": None, "estimatedDeliveryAt": None, "requiresShipping": True,
        "totalQuantity": sum(r.quantity for r in rows),
        "trackingInfo": lambda a: [dict(t) for t in record.tracking][: a.get("first") or None],
        "location": lambda a: views.location(ctx, store.locations[record.location_id]),
        "order": lambda a: order(ctx, parent),
        "fulfillmentLineItems": lambda a: ctx.connection(rows, a, lambda r: {
            "__typename": "FulfillmentLineItem", "id": gid("FulfillmentLineItem", r.id), "quantity": r.quantity,
            "lineItem": line_item(ctx, parent, lines[r.line_id]),
            "originalTotalSet": money_bag(lines[r.line_id].price * r.quantity, parent.currency),
            "discountedTotalSet": money_bag(lines[r.line_id].price * r.quantity, parent.currency)}),
        "fulfillmentOrders": lambda a: ctx.connection(
            [store.fulfillment_orders[record.fulfillment_order_id]], a, lambda fo: fulfillment_order(ctx, fo)),
    }


class _Row:
    def __init__(self, row_id: int, line_id: int, quantity: int) -> None:
        self.id, self.line_id, self.quantity = row_id, line_id, quantity


def refund(ctx: Ctx, parent: Order, record: Refund) -> View:
    store, currency = ctx.store, parent.currency
    lines = {li.id: li for li in parent.line_items}

    def refund_line(line: RefundLine) -> View:
        item = lines[line.line_item_id]
        return {"__typename": "RefundLineItem", "id": gid("RefundLineItem", line.id), "quantity": line.quantity,
                "restockType": line.restock_type, "restocked": line.restock_type != "NO_RESTOCK",
                "lineItem": lambda a: line_item(ctx, parent, item),
                "location": (lambda a: views.location(ctx, store.locations[line.location_id]))
                if line.location_id in store.locations else None,
                "priceSet": money_bag(item.price, currency),
                "subtotalSet": money_bag(item.price * line.quantity, currency),
                "totalTaxSet": money_bag(Decimal("0"), currency)}

    total = sum((lines[r.line_item_id].price * r.quantity for r in record.lines), Decimal("0"))
    return {
        "__typename": "Refund", "id": gid("Refund", record.id), "legacyResourceId": str(record.id),
        "note": record.note, "createdAt": iso(record.created_at), "processedAt": iso(record.created_at),
        "updatedAt": iso(record.created_at), "totalRefundedSet": money_bag(total, currency),
        "order": lambda a: order(ctx, parent),
        "refundLineItems": lambda a: ctx.connection(record.lines, a, refund_line),
    }
