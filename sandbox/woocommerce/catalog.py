"""Product and variation writes as the REST API applies them (create, update, delete).

Field handling follows WooCommerce's `prepare_object_for_database`: stock fields only take
effect while `manage_stock` is on, `inventory_delta` adjusts the current level, a duplicate
SKU or GTIN is refused. Callers hold `store.lock`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.woocommerce.errors import WooError, invalid_id, invalid_param
from sandbox.woocommerce.model import BACKORDERS, PRODUCT_STATUSES, STOCK_STATUSES, Product
from sandbox.woocommerce.store import WooStore, slugify

PRODUCT_TYPES = ("simple", "variable")


def as_int(name: str, value: Any) -> int:
    """An integer argument as WordPress accepts it (numbers and numeric strings)."""
    if isinstance(value, bool):
        raise invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type")


def as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1", "true", "false"):
        return value in (1, "1", "true")
    raise invalid_param(name, f"{name} is not of type boolean.", "rest_invalid_type")


def as_enum(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        listed = ", ".join(allowed[:-1]) + f", and {allowed[-1]}" if len(allowed) > 1 else allowed[0]
        raise invalid_param(name, f"{name} is not one of {listed}.", "rest_not_in_enum")
    return str(value)


def as_price(name: str, value: Any) -> str:
    """Prices are decimal strings; an empty string clears the price."""
    text = "" if value is None else str(value).strip()
    if text == "":
        return ""
    try:
        Decimal(text)
    except InvalidOperation:
        raise invalid_param(name, f"{name} is not of type string.", "rest_invalid_type") from None
    return text


def create_product(store: WooStore, data: dict[str, Any]) -> Product:
    """POST /products: a simple or variable product (variations come separately)."""
    kind = as_enum("type", data.get("type", "simple"), PRODUCT_TYPES)
    name = str(data.get("name", "Product"))
    now = store.now()
    product = Product(id=0, type=kind, name=name, slug=slugify(name), created=now, modified=now)
    apply_fields(store, product, data, source="api")
    product.id = store.post_id()
    store.products[product.id] = product
    if product.manage_stock and product.stock_quantity is not None:
        log_initial_stock(store, product)
    store.emit("product.created", product.id)
    return product


def create_variation(store: WooStore, parent: Product, data: dict[str, Any]) -> Product:
    """POST /products/{id}/variations (used by the variations batch)."""
    if parent.type != "variable":
        raise WooError("woocommerce_rest_invalid_product_id", "Invalid product ID.", 404)
    options = [a.get("option", "") for a in data.get("attributes", []) if isinstance(a, dict)]
    option = str(options[0]) if options else ""
    now = store.now()
    variation = Product(id=0, type="variation", parent_id=parent.id, name=f"{parent.name} - {option}",
                        slug="", created=now, modified=now, option=option)
    apply_fields(store, variation, data, source="api")
    variation.id = store.post_id()
    store.products[variation.id] = variation
    parent.variation_ids.append(variation.id)
    store.touch(variation)
    if variation.manage_stock and variation.stock_quantity is not None:
        log_initial_stock(store, variation)
    store.emit("product.updated", parent.id)
    return variation


def log_initial_stock(store: WooStore, product: Product) -> None:
    store.writes.record("stock", platform="woocommerce", sku=product.sku, product_id=product.id,
                        parent_id=product.parent_id, before=None, after=product.stock_quantity, source="api")


def update_product(store: WooStore, product: Product, data: dict[str, Any], *,
                   source: str = "api") -> Product:
    """PUT /products/{id} or /products/{pid}/variations/{id}."""
    if "name" in data and product.type != "variation":
        product.name = str(data["name"])
    apply_fields(store, product, data, source=source)
    store.touch(product)
    store.emit("product.updated", product.id)
    return product


def delete_product(store: WooStore, product: Product, *, force: bool) -> None:
    """DELETE: to the trash, or gone for good with `force=true` (variations need force)."""
    if not force:
        if product.status == "trash":
            raise WooError("woocommerce_rest_already_trashed", "The product has already been deleted.", 410)
        product.status = "trash"
        store.touch(product)
        store.emit("product.deleted", product.id, {"id": product.id})
        return
    for variation_id in list(product.variation_ids):
        store.products.pop(variation_id, None)
    store.products.pop(product.id, None)
    parent = store.products.get(product.parent_id) if product.parent_id else None
    if parent and product.id in parent.variation_ids:
        parent.variation_ids.remove(product.id)
        store.touch(parent)
    store.emit("product.deleted", product.id, {"id": product.id})


def apply_fields(store: WooStore, product: Product, data: dict[str, Any], *, source: str) -> None:
    """Validate everything first, then apply: a refused request changes nothing."""
    changes = _validated(store, product, data)
    stock_target = changes.pop("_stock", None)
    for key, value in changes.items():
        setattr(product, key, value)
    if not product.manage_stock:
        product.stock_quantity = None  # WooCommerce forgets the level when management is off
        return
    if stock_target is not None and product.id:
        store.write_stock(product, stock_target, source=source, announce=False)
    elif stock_target is not None:
        product.stock_quantity = stock_target
    elif product.stock_quantity is None:
        product.stock_quantity = 0


def _validated(store: WooStore, product: Product, data: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "sku" in data:
        sku = "" if data["sku"] is None else str(data["sku"]).strip()
        if sku and store.sku_taken(sku, exclude=product.id or None):
            raise WooError("product_invalid_sku", "Invalid or duplicated SKU.", 400,
                           resource_id=product.id, unique_sku=sku)
        changes["sku"] = sku
    if "global_unique_id" in data:
        gtin = str(data["global_unique_id"] or "")
        if gtin and any(p.global_unique_id == gtin and p.id != product.id for p in store.products.values()):
            raise WooError("product_invalid_global_unique_id",
                           "Invalid or duplicated GTIN, UPC, EAN or ISBN.", 400)
        changes["global_unique_id"] = gtin
    for name in ("regular_price", "sale_price"):
        if name in data:
            changes[name] = as_price(name, data[name])
    if "status" in data:
        changes["status"] = as_enum("status", data["status"], PRODUCT_STATUSES)
    if "backorders" in data:
        changes["backorders"] = as_enum("backorders", data["backorders"], BACKORDERS)
    if "stock_status" in data:
        changes["manual_stock_status"] = as_enum("stock_status", data["stock_status"], STOCK_STATUSES)
    if "meta_data" in data:
        changes["meta_data"] = _meta(store, product, data["meta_data"])
    managed = product.manage_stock
    if "manage_stock" in data:
        managed = as_bool("manage_stock", data["manage_stock"])
    changes["manage_stock"] = managed
    if managed and data.get("stock_quantity") is not None:
        changes["_stock"] = as_int("stock_quantity", data["stock_quantity"])
    elif managed and data.get("inventory_delta") is not None:
        changes["_stock"] = (product.stock_quantity or 0) + as_int("inventory_delta", data["inventory_delta"])
    return changes


def _meta(store: WooStore, product: Product, items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise invalid_param("meta_data", "meta_data is not of type array.", "rest_invalid_type")
    merged = {m["key"]: dict(m) for m in product.meta_data}
    for item in items:
        if not isinstance(item, dict) or "key" not in item:
            raise invalid_param("meta_data[0]", "key is a required property of meta_data[0].",
                                "rest_property_required")
        key = str(item["key"])
        entry = merged.get(key) or {"id": store.meta_id(), "key": key}
        entry["value"] = item.get("value")
        merged[key] = entry
    return list(merged.values())


def find_product(store: WooStore, product_id: int, *, status: int = 404) -> Product:
    """A product by id (a variation id works too, as in WooCommerce)."""
    product = store.product(product_id)
    if product is None:
        raise invalid_id("product", status)
    return product


def find_variation(store: WooStore, parent_id: int, variation_id: int, *, status: int = 404) -> Product:
    parent = store.product(parent_id)
    variation = store.product(variation_id)
    if parent is None or variation is None or variation.parent_id != parent_id:
        raise invalid_id("product_variation", status)
    return variation
