"""Shopify's REST-style JSON shapes, used by the REST subset and by webhook bodies.

REST timestamps carry an offset (`2026-04-01T12:00:00+00:00`; the sandbox shop runs on UTC),
money is a string, enums are lower-case, ids are integers next to `admin_graphql_api_id`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.shopify.model import Fulfillment, InventoryItem, LineItem, Order, Product, Refund, Variant, gid, money
from sandbox.shopify.store import Store

Json = dict[str, Any]


def stamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def variant(store: Store, record: Variant, *, corrupt: bool = False) -> Json:
    item = store.item_of(record)
    return {
        "id": record.id, "product_id": record.product_id, "title": record.title,
        "price": "not-a-number" if corrupt else money(record.price), "position": record.position,
        "inventory_policy": record.inventory_policy.lower(),
        "compare_at_price": money(record.compare_at_price) if record.compare_at_price is not None else None,
        "option1": record.option, "option2": None, "option3": None,
        "created_at": stamp(record.created_at), "updated_at": stamp(record.updated_at), "taxable": True,
        "barcode": "" if corrupt else record.barcode, "sku": None if corrupt else record.sku,
        "fulfillment_service": "manual", "inventory_management": "shopify" if item.tracked else None,
        "inventory_item_id": item.id, "inventory_quantity": sum(lv.available for lv in item.levels.values()),
        "old_inventory_quantity": sum(lv.available for lv in item.levels.values()),
        "requires_shipping": True, "grams": 0, "weight": 0.0, "weight_unit": "kg", "image_id": None,
        "admin_graphql_api_id": gid("ProductVariant", record.id),
    }


def product(store: Store, record: Product, corrupt_ids: set[str] | None = None) -> Json:
    marks = corrupt_ids or set()
    bad_product = bool({str(record.id), gid("Product", record.id)} & marks)
    variants = store.product_variants(record)
    return {
        "id": record.id, "title": "" if bad_product else record.title, "body_html": "", "vendor": record.vendor,
        "product_type": record.product_type, "handle": record.handle, "status": record.status.lower(),
        "created_at": stamp(record.created_at), "updated_at": stamp(record.updated_at),
        "published_at": stamp(record.created_at) if record.status == "ACTIVE" else None,
        "template_suffix": None, "published_scope": "global", "tags": ", ".join(record.tags),
        "admin_graphql_api_id": gid("Product", record.id),
        "variants": [variant(store, v, corrupt=bad_product or bool(
            {str(v.id), gid("ProductVariant", v.id), v.sku or "\0"} & marks)) for v in variants],
        "options": [{"id": record.id, "product_id": record.id, "name": record.option_name, "position": 1,
                     "values": list(dict.fromkeys(v.option for v in variants))}],
        "images": [], "image": None,
    }


def inventory_level(item: InventoryItem, location_id: int) -> Json:
    level = item.levels[location_id]
    return {"inventory_item_id": item.id, "location_id": location_id, "available": level.available,
            "updated_at": stamp(level.updated_at),
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item.id}"}


def _price_set(amount: Decimal, currency: str) -> Json:
    value = {"amount": money(amount), "currency_code": currency}
    return {"shop_money": value, "presentment_money": dict(value)}


def line_item(order: Order, record: LineItem, quantity: int | None = None) -> Json:
    status = "fulfilled" if record.fulfilled and not record.unfulfilled else "partial" if record.fulfilled else None
    return {
        "id": record.id, "admin_graphql_api_id": gid("LineItem", record.id), "variant_id": record.variant_id,
        "product_id": record.product_id, "sku": record.sku, "title": record.title,
        "variant_title": record.variant_title, "name": f"{record.title} - {record.variant_title}",
        "quantity": record.quantity if quantity is None else quantity, "current_quantity": record.current_quantity,
        "fulfillable_quantity": 0 if order.cancelled_at else record.unfulfilled, "fulfillment_status": status,
        "price": money(record.price), "price_set": _price_set(record.price, order.currency),
        "total_discount": "0.00", "requires_shipping": True, "taxable": True, "gift_card": False,
        "vendor": None, "fulfillment_service": "manual",
    }


def refund(order: Order, record: Refund) -> Json:
    lines = {li.id: li for li in order.line_items}
    return {
        "id": record.id, "admin_graphql_api_id": gid("Refund", record.id), "order_id": order.id,
        "created_at": stamp(record.created_at), "processed_at": stamp(record.created_at), "note": record.note,
        "restock": any(r.restock_type != "NO_RESTOCK" for r in record.lines), "transactions": [],
        "refund_line_items": [{
            "id": r.id, "line_item_id": r.line_item_id, "quantity": r.quantity,
            "restock_type": r.restock_type.lower(), "location_id": r.location_id,
            "subtotal": money(lines[r.line_item_id].price * r.quantity), "total_tax": "0.00",
            "line_item": line_item(order, lines[r.line_item_id]),
        } for r in record.lines],
    }


def fulfillment(store: Store, record: Fulfillment) -> Json:
    order = store.orders[record.order_id]
    lines = {li.id: li for li in order.line_items}
    numbers = [t["number"] for t in record.tracking if t.get("number")]
    urls = [t["url"] for t in record.tracking if t.get("url")]
    company = next((t["company"] for t in record.tracking if t.get("company")), None)
    return {
        "id": record.id, "admin_graphql_api_id": gid("Fulfillment", record.id), "order_id": order.id,
        "name": record.name, "status": record.status.lower(), "created_at": stamp(record.created_at),
        "updated_at": stamp(record.updated_at), "location_id": record.location_id, "service": "manual",
        "shipment_status": None, "tracking_company": company, "tracking_number": numbers[0] if numbers else None,
        "tracking_numbers": numbers, "tracking_url": urls[0] if urls else None, "tracking_urls": urls,
        "line_items": [line_item(order, lines[line_id], quantity) for _, line_id, quantity in record.lines],
    }


def order(store: Store, record: Order) -> Json:
    current = sum((li.price * li.current_quantity for li in record.line_items), Decimal("0"))
    status = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "RESTOCKED": "restocked"}
    return {
        "id": record.id, "admin_graphql_api_id": gid("Order", record.id), "name": record.name,
        "order_number": record.number, "number": record.number - 1000, "email": record.email,
        "contact_email": record.email, "created_at": stamp(record.created_at),
        "updated_at": stamp(record.updated_at), "processed_at": stamp(record.created_at),
        "cancelled_at": stamp(record.cancelled_at),
        "cancel_reason": record.cancel_reason.lower() if record.cancel_reason else None, "closed_at": None,
        "confirmed": True, "test": False, "currency": record.currency, "presentment_currency": record.currency,
        "financial_status": record.financial_status.lower(),
        "fulfillment_status": status.get(record.fulfillment_status()),
        "total_price": money(record.total()), "subtotal_price": money(record.total()),
        "current_total_price": money(current), "current_subtotal_price": money(current),
        "total_tax": "0.00", "total_discounts": "0.00", "taxes_included": True, "tags": "", "note": None,
        "customer": dict(record.customer) if record.customer else None,
        "line_items": [line_item(record, li) for li in record.line_items],
        "refunds": [refund(record, r) for r in record.refunds],
        "fulfillments": [fulfillment(store, store.fulfillments[i]) for i in record.fulfillment_ids],
    }
