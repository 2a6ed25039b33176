"""Mutation resolvers, and the `@idempotent(key:)` directive around them.

A repeated key on the same mutation with the same arguments returns the first payload
without applying anything again; with different arguments it is refused with
IDEMPOTENCY_KEY_PARAMETER_MISMATCH. The mutations whose 2026-04 description says the key is
required (the inventory ones among those simulated) fail without it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlparse

from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema, get_directive_values

from sandbox.shopify import inventory_mutations, order_views, orders, views
from sandbox.shopify.model import Subscription, gid, now, parse_gid
from sandbox.shopify.store import StoreError
from sandbox.shopify.views import Ctx, View

_required_cache: dict[int, set[str]] = {}


def _key_required(schema: GraphQLSchema) -> set[str]:
    """Mutations whose schema description says the idempotency key is required."""
    found = _required_cache.get(id(schema))
    if found is None:
        mutation = schema.mutation_type
        found = {name for name, f in (mutation.fields.items() if mutation else [])
                 if "idempotency key is required" in (f.description or "")}
        _required_cache[id(schema)] = found
    return found


def idempotent(name: str, resolver: Callable[..., View]) -> Callable[..., View]:
    def resolve(ctx: Ctx, args: dict[str, Any], info: GraphQLResolveInfo) -> View:
        directive = info.schema.get_directive("idempotent")
        values = get_directive_values(directive, info.field_nodes[0], info.variable_values) if directive else None
        key = (values or {}).get("key")
        if key is not None and not str(key).strip():
            raise GraphQLError("The idempotency key cannot be an empty string or whitespace only.",
                               extensions={"code": "BAD_REQUEST"})
        if key is None:
            if name in _key_required(info.schema):
                raise GraphQLError(f"The @idempotent directive with a key is required for '{name}' as of API "
                                   "version 2026-04.", extensions={"code": "BAD_REQUEST"})
            return resolver(ctx, args, info)
        fingerprint = json.dumps(args, sort_keys=True, default=str)
        seen = ctx.store.idempotency.get((name, key))
        if seen is None:
            payload = resolver(ctx, args, info)
            ctx.store.idempotency[(name, key)] = (fingerprint, payload)
            return payload
        if seen[0] != fingerprint:
            error = {"field": None, "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                     "message": "The same idempotency key cannot be used with different operation parameters."}
            return {"userErrors": [error], "orderCancelUserErrors": [error]}
        return dict(seen[1])
    return resolve


def _user_error(field: list[str] | None, message: str, code: str | None = None) -> View:
    return {"__typename": "UserError", "field": field, "message": message, "code": code}


def _money(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise StoreError(f"'{value}' is not a valid amount", "INVALID_INPUT") from exc
    if amount < 0:
        raise StoreError("price can't be negative", "NEGATIVE_PRICE_VALUE")
    return amount


# -- products ----------------------------------------------------------------------------------
def product_create(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    data = args.get("product") or {}
    if not data.get("title"):
        return {"product": None, "userErrors": [_user_error(["title"], "Title can't be blank")], "shop": {}}
    store = ctx.store
    options = data.get("productOptions") or []
    option_name = options[0].get("name", "Title") if options else "Title"
    first_value = ((options[0].get("values") or [{}])[0].get("name") if options else None) or "Default Title"
    product = store.add_product(data["title"], status=data.get("status") or "ACTIVE",
                                vendor=data.get("vendor") or store.shop, product_type=data.get("productType") or "",
                                option_name=option_name, handle=data.get("handle"), tags=data.get("tags"))
    store.add_variant(product, title=first_value, sku=None, barcode=None, price=Decimal("0"))
    store.emit("PRODUCTS_CREATE", product)
    return {"product": views.product(ctx, product), "userErrors": [], "shop": {"__typename": "Shop"}}


def product_update(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    data = args.get("product") or {}
    target = data.get("id") or (args.get("identifier") or {}).get("id")
    handle = (args.get("identifier") or {}).get("handle")
    store = ctx.store
    product = store.products.get(parse_gid(target, "Product") or 0) if target else \
        next((p for p in store.products.values() if p.handle == handle), None)
    if product is None:
        return {"product": None, "userErrors": [_user_error(["id"], "Product does not exist")]}
    for key, attr in (("title", "title"), ("status", "status"), ("vendor", "vendor"),
                      ("productType", "product_type"), ("handle", "handle"), ("tags", "tags")):
        if data.get(key) is not None:
            setattr(product, attr, data[key])
    store.touch_product(product)
    return {"product": views.product(ctx, product), "userErrors": []}


def _apply_variant(variant: Any, data: dict[str, Any]) -> None:
    for key, attr in (("barcode", "barcode"), ("inventoryPolicy", "inventory_policy")):
        if key in data:
            setattr(variant, attr, data[key])
    if data.get("price") is not None:
        variant.price = _money(data["price"])
    if "compareAtPrice" in data:
        variant.compare_at_price = None if data["compareAtPrice"] is None else _money(data["compareAtPrice"])
    if "sku" in (data.get("inventoryItem") or {}):
        variant.sku = data["inventoryItem"]["sku"]
    if data.get("optionValues"):
        variant.title = variant.option = " / ".join(str(o.get("name")) for o in data["optionValues"])
    variant.updated_at = now()


def variants_bulk_create(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    store = ctx.store
    product = store.products.get(parse_gid(args["productId"], "Product") or 0)
    if product is None:
        return {"product": None, "productVariants": None, "userErrors": [
            _user_error(["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")]}
    standalone = store.product_variants(product)
    strategy = args.get("strategy") or "DEFAULT"
    created = []
    try:
        for data in args["variants"]:
            stock = {parse_gid(q["locationId"], "Location") or 0: q["availableQuantity"]
                     for q in data.get("inventoryQuantities") or []}
            variant = store.add_variant(product, title="", sku=None, barcode=None, price=Decimal("0"),
                                        stock_by_location=stock or None)
            _apply_variant(variant, data)
            item = store.item_of(variant)
            item.tracked = (data.get("inventoryItem") or {}).get("tracked", True) is not False
            created.append(variant)
    except StoreError as exc:
        for variant in created:
            store.remove_variant(variant.id)
        return {"product": None, "productVariants": None, "userErrors": [
            _user_error(["variants"], str(exc), exc.code)]}
    only = standalone[0] if len(standalone) == 1 else None
    if only and (strategy == "REMOVE_STANDALONE_VARIANT" or (strategy == "DEFAULT" and only.title == "Default Title")):
        store.remove_variant(only.id)
    for variant in created:
        for location_id, level in store.item_of(variant).levels.items():
            if level.on_hand:
                store.writes.record("productVariantsBulkCreate", source="api", shop=store.shop, sku=variant.sku,
                                    inventory_item_id=gid("InventoryItem", variant.inventory_item_id),
                                    location_id=gid("Location", location_id), available=level.available,
                                    on_hand=level.on_hand, committed=level.committed)
    store.touch_product(product)
    return {"product": views.product(ctx, product), "productVariants": [views.variant(ctx, v) for v in created],
            "userErrors": []}


def variants_bulk_update(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    store = ctx.store
    product = store.products.get(parse_gid(args["productId"], "Product") or 0)
    if product is None:
        return {"product": None, "productVariants": None, "userErrors": [
            _user_error(["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")]}
    errors, targets = [], []
    for index, data in enumerate(args["variants"]):
        path = ["variants", str(index)]
        variant = store.variants.get(parse_gid(data.get("id") or "", "ProductVariant") or 0)
        if not data.get("id"):
            errors.append(_user_error([*path, "id"], "Product variant is missing ID attribute",
                                      "PRODUCT_VARIANT_ID_MISSING"))
        elif variant is None or variant.product_id != product.id:
            errors.append(_user_error([*path, "id"], "Product variant does not exist",
                                      "PRODUCT_VARIANT_DOES_NOT_EXIST"))
        elif data.get("inventoryQuantities"):
            errors.append(_user_error([*path, "inventoryQuantities"], "Inventory quantities can only be provided "
                                      "during create.", "NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE"))
        else:
            for key in ("price", "compareAtPrice"):
                try:
                    if data.get(key) is not None:
                        _money(data[key])
                except StoreError as exc:
                    errors.append(_user_error([*path, key], str(exc), exc.code))
            targets.append((variant, data))
    if errors and not args.get("allowPartialUpdates"):
        return {"product": None, "productVariants": None, "userErrors": errors}
    for variant, data in targets:
        _apply_variant(variant, data)
    store.touch_product(product)
    return {"product": views.product(ctx, product),
            "productVariants": [views.variant(ctx, v) for v, _ in targets], "userErrors": errors}


# -- orders and fulfilment -----------------------------------------------------------------------
def _tracking(info: dict[str, Any] | None) -> list[dict[str, str | None]]:
    if not info:
        return []
    numbers = info.get("numbers") or ([info["number"]] if info.get("number") else [])
    urls = info.get("urls") or ([info["url"]] if info.get("url") else [])
    count = max(len(numbers), len(urls))
    return [{"__typename": "FulfillmentTrackingInfo", "company": info.get("company"),
             "number": numbers[i] if i < len(numbers) else None, "url": urls[i] if i < len(urls) else None}
            for i in range(count)] or [{"__typename": "FulfillmentTrackingInfo", "company": info.get("company"),
                                        "number": None, "url": None}]


def fulfillment_create(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    store, data = ctx.store, args["fulfillment"]
    groups = data["lineItemsByFulfillmentOrder"]
    targets = {parse_gid(g["fulfillmentOrderId"], "FulfillmentOrder") for g in groups}
    if len(targets) != 1:
        return {"fulfillment": None, "userErrors": [_user_error(
            ["fulfillment", "lineItemsByFulfillmentOrder"],
            "The sandbox fulfils one fulfillment order per call; send each fulfillment order separately.")]}
    fulfillment_order = store.fulfillment_orders.get(targets.pop() or 0)
    if fulfillment_order is None:
        return {"fulfillment": None, "userErrors": [_user_error(
            ["fulfillment", "lineItemsByFulfillmentOrder", "0", "fulfillmentOrderId"],
            "Fulfillment order does not exist.")]}
    wanted: dict[int, int] = {}
    for group in groups:
        for line in group.get("fulfillmentOrderLineItems") or []:
            line_id = parse_gid(line["id"], "FulfillmentOrderLineItem") or 0
            wanted[line_id] = wanted.get(line_id, 0) + line["quantity"]
    try:
        record = orders.fulfil(store, fulfillment_order, wanted, tracking=_tracking(data.get("trackingInfo")),
                               notify_customer=bool(data.get("notifyCustomer")))
    except StoreError as exc:
        return {"fulfillment": None, "userErrors": [_user_error(["fulfillment"], str(exc))]}
    return {"fulfillment": order_views.fulfillment(ctx, record), "userErrors": []}


def order_cancel(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    store = ctx.store
    order = store.orders.get(parse_gid(args["orderId"], "Order") or 0)
    if order is None:
        error = {"__typename": "OrderCancelUserError", "field": ["orderId"], "message": "Order does not exist",
                 "code": "NOT_FOUND"}
        return {"job": None, "orderCancelUserErrors": [error], "userErrors": [error]}
    try:
        orders.cancel(store, order, restock=args["restock"], reason=args["reason"], source="api")
    except StoreError as exc:
        error = {"__typename": "OrderCancelUserError", "field": ["orderId"], "message": str(exc), "code": "INVALID"}
        return {"job": None, "orderCancelUserErrors": [error], "userErrors": [error]}
    job = {"__typename": "Job", "id": gid("Job", store.next_id("group")), "done": True, "query": None}
    return {"job": job, "orderCancelUserErrors": [], "userErrors": []}


# -- webhooks ---------------------------------------------------------------------------------
def _uri_problem(uri: str | None) -> str | None:
    if not uri:
        return "Address can't be blank"
    parsed = urlparse(uri)
    if parsed.scheme in ("pubsub", "arn") or uri.startswith("arn:"):
        return None
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost")):
        return None
    return "Address protocol http:// is not supported" if parsed.scheme == "http" else "Address is invalid"


def webhook_create(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    store, data = ctx.store, args["webhookSubscription"]
    uri = data.get("uri")
    problem = _uri_problem(uri)
    if problem is None and any(s.topic == args["topic"] and s.uri == uri for s in store.subscriptions.values()):
        problem = "Address for this topic has already been taken"
    if problem:
        return {"webhookSubscription": None, "userErrors": [_user_error(["webhookSubscription", "uri"], problem)]}
    moment = now()
    sub = Subscription(store.next_id("webhook"), args["topic"], str(uri), data.get("format") or "JSON", moment,
                       moment, list(data.get("includeFields") or []))
    store.subscriptions[sub.id] = sub
    return {"webhookSubscription": views.subscription(ctx, sub), "userErrors": []}


def webhook_delete(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    number = parse_gid(args["id"], "WebhookSubscription")
    if number is None or ctx.store.subscriptions.pop(number, None) is None:
        return {"deletedWebhookSubscriptionId": None,
                "userErrors": [_user_error(["id"], "Webhook subscription does not exist")]}
    return {"deletedWebhookSubscriptionId": args["id"], "userErrors": []}


_PLAIN: dict[str, Callable[..., View]] = {
    "inventorySetQuantities": inventory_mutations.set_quantities,
    "inventoryAdjustQuantities": inventory_mutations.adjust_quantities,
    "productCreate": product_create,
    "productUpdate": product_update,
    "productVariantsBulkCreate": variants_bulk_create,
    "productVariantsBulkUpdate": variants_bulk_update,
    "fulfillmentCreate": fulfillment_create,
    "orderCancel": order_cancel,
    "webhookSubscriptionCreate": webhook_create,
    "webhookSubscriptionDelete": webhook_delete,
}
MUTATION_FIELDS: dict[str, Callable[..., View]] = {name: idempotent(name, fn) for name, fn in _PLAIN.items()}
