"""Query root resolvers and the field/type resolvers graphql-core executes with.

Objects are the dicts built in `views.py`/`order_views.py`; a field whose value is callable
is called with the field's arguments. Root fields live in `QUERY_FIELDS` and, for mutations,
in `mutations.MUTATION_FIELDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from sandbox.shopify import order_views, search, views
from sandbox.shopify.model import gid_kind, parse_gid
from sandbox.shopify.views import Ctx, View

RootResolver = Callable[[Ctx, dict[str, Any]], Any]


class Root:
    """The root value; marks fields whose resolver comes from a table, not a dict."""

    def __init__(self, table: dict[str, Callable[..., Any]]) -> None:
        self.table = table


def field_resolver(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    if isinstance(source, Root):
        resolver = source.table.get(info.field_name)
        if resolver is None:
            raise GraphQLError(f"The sandbox does not simulate '{info.field_name}' yet.",
                               extensions={"code": "NOT_SIMULATED"})
        return resolver(info.context, args, info)
    value = source.get(info.field_name) if isinstance(source, dict) else getattr(source, info.field_name, None)
    return value(args) if callable(value) else value


def type_resolver(value: Any, info: GraphQLResolveInfo, abstract_type: Any) -> str | None:
    return value.get("__typename") if isinstance(value, dict) else None


def number(value: str, kind: str) -> int:
    """The numeric id of a `kind` global id; Shopify's coercion error when malformed."""
    found = parse_gid(value, kind)
    if found is None:
        raise GraphQLError(f"Invalid global id '{value}'", extensions={"code": "argumentLiteralsIncompatible",
                                                                        "typeName": "CoercionError"})
    return found


PRODUCT_FIELDS: dict[str, Any] = {
    "id": lambda p: p.id, "title": lambda p: p.title, "status": lambda p: p.status.lower(),
    "updated_at": lambda p: p.updated_at, "created_at": lambda p: p.created_at, "handle": lambda p: p.handle,
    "vendor": lambda p: p.vendor, "product_type": lambda p: p.product_type, "tag": lambda p: p.tags,
}


def _product_fields(ctx: Ctx) -> dict[str, Any]:
    store = ctx.store
    skus = {"sku": lambda p: [v.sku for v in store.product_variants(p)],
            "barcode": lambda p: [v.barcode for v in store.product_variants(p)]}
    return {**PRODUCT_FIELDS, **skus}


def _variant_fields(ctx: Ctx) -> dict[str, Any]:
    store = ctx.store
    return {"id": lambda v: v.id, "sku": lambda v: v.sku, "barcode": lambda v: v.barcode,
            "title": lambda v: v.title, "product_id": lambda v: v.product_id,
            "updated_at": lambda v: v.updated_at, "created_at": lambda v: v.created_at,
            "product_status": lambda v: store.products[v.product_id].status.lower(),
            "inventory_quantity": lambda v: sum(lv.available for lv in store.item_of(v).levels.values())}


def _item_fields(ctx: Ctx) -> dict[str, Any]:
    store = ctx.store
    return {"id": lambda i: i.id, "sku": lambda i: store.variants[i.variant_id].sku,
            "updated_at": lambda i: i.updated_at, "created_at": lambda i: i.created_at}


def shop(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    store = ctx.store
    return {"__typename": "Shop", "id": "gid://shopify/Shop/1", "name": store.shop,
            "myshopifyDomain": ctx.shop_domain, "currencyCode": store.currency, "email": f"owner@{ctx.shop_domain}",
            "contactEmail": f"owner@{ctx.shop_domain}", "ianaTimezone": "Etc/UTC",
            "timezoneAbbreviation": "UTC", "taxesIncluded": True, "weightUnit": "KILOGRAMS",
            "enabledPresentmentCurrencies": [store.currency], "url": f"https://{ctx.shop_domain}",
            "plan": {"publicDisplayName": "Sandbox", "partnerDevelopment": True, "shopifyPlus": False}}


def app_installation(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    return {"__typename": "AppInstallation", "id": "gid://shopify/AppInstallation/1",
            "accessScopes": [{"handle": h, "description": h} for h in ctx.access_scopes],
            "launchUrl": "https://example.invalid/", "uninstallUrl": None}


def _one(kind: str, table: Callable[[Ctx], dict[int, Any]], view: Callable[[Ctx, Any], View]) -> Any:
    def resolve(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View | None:
        record = table(ctx).get(number(args["id"], kind))
        return view(ctx, record) if record is not None else None
    return resolve


def _many(table: Callable[[Ctx], dict[int, Any]], view: Callable[[Ctx, Any], View],
          fields: Callable[[Ctx], dict[str, Any]] | None, sorts: dict[str, Any] | None, path: str) -> Any:
    def resolve(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
        return ctx.connection(list(table(ctx).values()), args, lambda r: view(ctx, r),
                              fields=fields(ctx) if fields else {}, sorts=sorts, path=path)
    return resolve


def _order_view(ctx: Ctx, record: Any) -> View:
    return order_views.order(ctx, record)


def _location_fields(ctx: Ctx) -> dict[str, Any]:
    return {"id": lambda loc: loc.id, "name": lambda loc: loc.name, "active": lambda loc: loc.active}


def node(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View | None:
    kind = gid_kind(args["id"]) or ""
    resolvers = {"Product": QUERY_FIELDS["product"], "ProductVariant": QUERY_FIELDS["productVariant"],
                 "InventoryItem": QUERY_FIELDS["inventoryItem"], "Order": QUERY_FIELDS["order"],
                 "Location": QUERY_FIELDS["location"]}
    if kind not in resolvers:
        number(args["id"], "Node")
        return None
    return resolvers[kind](ctx, args)


def nodes(ctx: Ctx, args: dict[str, Any], info: Any = None) -> list[View | None]:
    if len(args["ids"]) > 250:
        raise GraphQLError("The input array size of {} is greater than the maximum allowed of 250."
                           .format(len(args["ids"])), extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"})
    return [node(ctx, {"id": one}) for one in args["ids"]]


def product_variants_count(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    """`productVariantsCount(query:, limit:)`: exact up to `limit` (default 10,000, null = none),
    else `limit` with precision AT_LEAST, as Shopify counts."""
    records = list(ctx.store.variants.values())
    if args.get("query"):
        warnings: list[dict[str, Any]] = []
        records = search.filter_records(records, args["query"], _variant_fields(ctx), warnings)
    limit = args.get("limit", 10_000)
    if limit is not None and len(records) > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": len(records), "precision": "EXACT"}


def webhook_subscriptions(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    subs = list(ctx.store.subscriptions.values())
    if args.get("topics"):
        subs = [s for s in subs if s.topic in args["topics"]]
    if args.get("uri"):
        subs = [s for s in subs if s.uri == args["uri"]]
    return ctx.connection(subs, args, lambda s: views.subscription(ctx, s))


QUERY_FIELDS: dict[str, Callable[..., Any]] = {
    "shop": shop,
    "currentAppInstallation": app_installation,
    "location": _one("Location", lambda c: c.store.locations, views.location),
    "locations": _many(lambda c: c.store.locations, views.location, _location_fields, None, "locations"),
    "product": _one("Product", lambda c: c.store.products, views.product),
    "products": _many(lambda c: c.store.products, views.product, _product_fields, views.PRODUCT_SORTS,
                      "products"),
    "productVariant": _one("ProductVariant", lambda c: c.store.variants, views.variant),
    "productVariants": _many(lambda c: c.store.variants, views.variant, _variant_fields, views.VARIANT_SORTS,
                             "productVariants"),
    "productVariantsCount": product_variants_count,
    "inventoryItem": _one("InventoryItem", lambda c: c.store.items, views.inventory_item),
    "inventoryItems": _many(lambda c: c.store.items, views.inventory_item, _item_fields, None, "inventoryItems"),
    "order": _one("Order", lambda c: c.store.orders, _order_view),
    "orders": _many(lambda c: c.store.orders, _order_view, lambda c: order_views.order_search_fields(),
                    views.ORDER_SORTS, "orders"),
    "webhookSubscriptions": webhook_subscriptions,
    "node": node,
    "nodes": nodes,
}
