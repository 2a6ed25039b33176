"""Store records as WooCommerce REST v3 JSON (the shapes of the documented examples).

Dates come in pairs: site-local `date_x` and `date_x_gmt`, both without a zone suffix.
Prices are strings, ids integers. Records whose id is in `faults.corrupt_ids` come out
damaged, as a broken plugin or a bad import can make a real store answer.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.woocommerce.model import Note, Order, Product, Refund, Tracking, Webhook
from sandbox.woocommerce.store import WooStore

API = "/wp-json/wc/v3"
WEBHOOK_HOOKS = {
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded"],
    "order.deleted": ["wp_trash_post"],
    "product.created": ["woocommerce_process_product_meta", "woocommerce_new_product"],
    "product.updated": ["woocommerce_process_product_meta", "woocommerce_update_product",
                        "woocommerce_update_product_variation"],
    "product.deleted": ["wp_trash_post"],
}


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def dates(store: WooStore, name: str, moment: datetime | None) -> dict[str, str | None]:
    """`name` in site time and `name_gmt` in UTC, or both null."""
    if moment is None:
        return {name: None, f"{name}_gmt": None}
    return {name: stamp(store.local(moment)), f"{name}_gmt": stamp(moment)}


def links(store: WooStore, path: str, collection: str, up: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"self": [{"href": store.base_url + path}],
                              "collection": [{"href": store.base_url + collection}]}
    if up:
        result["up"] = [{"href": store.base_url + up}]
    return result


def _stock_fields(store: WooStore, product: Product) -> dict[str, Any]:
    status = store.stock_status(product)
    return {
        "manage_stock": product.manage_stock,
        "stock_quantity": product.stock_quantity if product.manage_stock else None,
        "stock_status": status,
        "backorders": product.backorders,
        "backorders_allowed": product.backorders_allowed,
        "backordered": status == "onbackorder",
    }


def _price_fields(store: WooStore, product: Product) -> dict[str, Any]:
    price = product.price
    if product.type == "variable":
        prices = sorted(Decimal(v.price) for v in store.variations(product) if v.price)
        price = money(prices[0]) if prices else ""
    return {
        "price": price, "regular_price": "" if product.type == "variable" else product.regular_price,
        "sale_price": "" if product.type == "variable" else product.sale_price,
        **dates(store, "date_on_sale_from", None), **dates(store, "date_on_sale_to", None),
        "on_sale": bool(product.sale_price),
    }


def _common(product: Product) -> dict[str, Any]:
    return {
        "purchasable": bool(product.price) or product.type == "variable", "virtual": False,
        "downloadable": False, "downloads": [], "download_limit": -1, "download_expiry": -1,
        "tax_status": "taxable", "tax_class": "",
    }


def product_json(store: WooStore, product: Product, *, corrupt: bool = False) -> dict[str, Any]:
    """GET /products/{id}; a variation fetched this way is a product of type "variation"."""
    path = f"{API}/products/{product.id}"
    options = [store.products[i].option for i in product.variation_ids if i in store.products]
    data: dict[str, Any] = {
        "id": product.id, "name": product.name, "slug": product.slug,
        "permalink": f"{store.base_url}/product/{product.slug or product.id}/",
        **dates(store, "date_created", product.created), **dates(store, "date_modified", product.modified),
        "type": product.type, "status": product.status, "featured": False, "catalog_visibility": "visible",
        "description": "", "short_description": "", "sku": product.sku,
        "global_unique_id": product.global_unique_id,
        **_price_fields(store, product), "price_html": _price_html(store, product),
        "total_sales": product.total_sales, **_common(product), "external_url": "", "button_text": "",
        **_stock_fields(store, product), "sold_individually": False, "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""}, "shipping_required": True,
        "shipping_taxable": True, "shipping_class": "", "shipping_class_id": 0, "reviews_allowed": True,
        "average_rating": "0.00", "rating_count": 0, "related_ids": [], "upsell_ids": [],
        "cross_sell_ids": [], "parent_id": product.parent_id, "purchase_note": "",
        "categories": [{"id": 15, "name": "Uncategorized", "slug": "uncategorized"}], "tags": [],
        "images": [], "attributes": _attributes(product, options), "default_attributes": [],
        "variations": list(product.variation_ids), "grouped_products": [], "menu_order": 0,
        "meta_data": [dict(m) for m in product.meta_data],
        "_links": links(store, path, f"{API}/products"),
    }
    return damage(data) if corrupt else data


def _attributes(product: Product, options: list[str]) -> list[dict[str, Any]]:
    if product.type == "variation":
        return [{"id": 0, "name": "Size", "option": product.option}]
    if not options:
        return []
    return [{"id": 0, "name": "Size", "position": 0, "visible": True, "variation": True, "options": options}]


def _price_html(store: WooStore, product: Product) -> str:
    price = _price_fields(store, product)["price"]
    if not price:
        return ""
    return (f'<span class="woocommerce-Price-amount amount"><span class="woocommerce-Price-currencySymbol">'
            f'{store.currency}</span>{price}</span>')


def variation_json(store: WooStore, variation: Product, *, corrupt: bool = False) -> dict[str, Any]:
    """GET /products/{pid}/variations/{id}."""
    base = f"{API}/products/{variation.parent_id}"
    parent = store.product(variation.parent_id)
    slug = parent.slug if parent else ""
    data: dict[str, Any] = {
        "id": variation.id, **dates(store, "date_created", variation.created),
        **dates(store, "date_modified", variation.modified), "description": "",
        "permalink": f"{store.base_url}/product/{slug}/?attribute_size={variation.option}",
        "sku": variation.sku, "global_unique_id": variation.global_unique_id,
        **_price_fields(store, variation), "status": variation.status, **_common(variation),
        **_stock_fields(store, variation), "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""}, "shipping_class": "",
        "shipping_class_id": 0, "image": None,
        "attributes": [{"id": 0, "name": "Size", "option": variation.option}], "menu_order": 0,
        "meta_data": [dict(m) for m in variation.meta_data],
        "_links": links(store, f"{base}/variations/{variation.id}", f"{base}/variations", base),
    }
    return damage(data) if corrupt else data


def damage(data: dict[str, Any]) -> dict[str, Any]:
    """A malformed record: a non-numeric price, no SKU, a stock level that is not a number."""
    data.update({"price": "abc", "regular_price": "abc", "sku": None, "global_unique_id": 17})
    if data.get("manage_stock"):
        data["stock_quantity"] = "lots"
    return data


def order_json(store: WooStore, order: Order, *, corrupt: bool = False) -> dict[str, Any]:
    """GET /orders/{id}."""
    total = money(order.total)
    data: dict[str, Any] = {
        "id": order.id, "parent_id": 0, "number": str(order.id), "order_key": order.order_key,
        "created_via": order.created_via, "version": "9.4.0", "status": order.status,
        "currency": order.currency, **dates(store, "date_created", order.created),
        **dates(store, "date_modified", order.modified), "discount_total": "0.00", "discount_tax": "0.00",
        "shipping_total": "0.00", "shipping_tax": "0.00", "cart_tax": "0.00", "total": total,
        "total_tax": "0.00", "prices_include_tax": False, "customer_id": 0, "customer_ip_address": "",
        "customer_user_agent": "", "customer_note": order.customer_note, "billing": dict(order.billing),
        "shipping": dict(order.shipping), "payment_method": "bacs",
        "payment_method_title": "Direct bank transfer", "transaction_id": "",
        **dates(store, "date_paid", order.date_paid), **dates(store, "date_completed", order.date_completed),
        "cart_hash": "", "meta_data": [dict(m) for m in order.meta_data],
        "line_items": [_line_json(store, line) for line in order.line_items], "tax_lines": [],
        "shipping_lines": [], "fee_lines": [], "coupon_lines": [],
        "refunds": [_refund_json(r) for r in order.refunds],
        "_links": links(store, f"{API}/orders/{order.id}", f"{API}/orders"),
    }
    if corrupt:
        data["total"] = "abc"
        for line in data["line_items"]:
            line.update({"sku": None, "quantity": "two"})
    return data


def _line_json(store: WooStore, line: Any) -> dict[str, Any]:
    meta = []
    if line.variation_id:
        meta.append({"id": line.id * 10, "key": "size", "value": line.option,
                     "display_key": "Size", "display_value": line.option})
    return {
        "id": line.id, "name": line.name, "product_id": line.product_id, "variation_id": line.variation_id,
        "quantity": line.quantity, "tax_class": "", "subtotal": money(line.total), "subtotal_tax": "0.00",
        "total": money(line.total), "total_tax": "0.00", "taxes": [], "meta_data": meta,
        "sku": line.sku, "price": float(line.price), "image": {"id": "", "src": ""}, "parent_name": None,
    }


def _refund_json(refund: Refund) -> dict[str, Any]:
    return {"id": refund.id, "reason": refund.reason, "total": "-" + money(refund.amount)}


def refund_json(store: WooStore, order: Order, refund: Refund) -> dict[str, Any]:
    """GET /orders/{id}/refunds/{refund_id}: what was refunded and which order lines it undoes."""
    base = f"{API}/orders/{order.id}"
    by_id = {line.id: line for line in order.line_items}
    items = []
    for position, (line_id, quantity) in enumerate(sorted(refund.lines.items()), start=1):
        line = by_id[line_id]
        total = "-" + money(line.price * quantity)
        items.append({
            "id": refund.id * 100 + position, "name": line.name, "product_id": line.product_id,
            "variation_id": line.variation_id, "quantity": -quantity, "tax_class": "", "subtotal": total,
            "subtotal_tax": "0.00", "total": total, "total_tax": "0.00", "taxes": [],
            "meta_data": [{"id": refund.id * 100 + 50 + position, "key": "_refunded_item_id",
                           "value": str(line.id)}],
            "sku": line.sku, "price": -float(line.price),
        })
    return {
        "id": refund.id, **dates(store, "date_created", refund.created), "amount": money(refund.amount),
        "reason": refund.reason, "refunded_by": 1, "refunded_payment": False, "meta_data": [],
        "line_items": items,
        "_links": links(store, f"{base}/refunds/{refund.id}", f"{base}/refunds", base),
    }


def note_json(store: WooStore, note: Note) -> dict[str, Any]:
    base = f"{API}/orders/{note.order_id}"
    return {
        "id": note.id, "author": note.author, **dates(store, "date_created", note.created),
        "note": note.note, "customer_note": note.customer_note,
        "_links": links(store, f"{base}/notes/{note.id}", f"{base}/notes", base),
    }


def tracking_json(store: WooStore, order_id: int, tracking: Tracking) -> dict[str, Any]:
    base = f"/wp-json/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings"
    return {
        "tracking_id": tracking.tracking_id, "tracking_provider": tracking.provider,
        "tracking_link": tracking.link, "tracking_number": tracking.number,
        "date_shipped": tracking.date_shipped,
        "_links": links(store, f"{base}/{tracking.tracking_id}", base, f"{API}/orders/{order_id}"),
    }


def webhook_json(store: WooStore, hook: Webhook) -> dict[str, Any]:
    resource, _, event = hook.topic.partition(".")
    return {
        "id": hook.id, "name": hook.name, "status": hook.status, "topic": hook.topic, "resource": resource,
        "event": event, "hooks": WEBHOOK_HOOKS.get(hook.topic, []), "delivery_url": hook.delivery_url,
        **dates(store, "date_created", hook.created), **dates(store, "date_modified", hook.modified),
        "_links": links(store, f"{API}/webhooks/{hook.id}", f"{API}/webhooks"),
    }
