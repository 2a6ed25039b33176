"""Store records as GraphQL objects: dicts keyed by schema field name.

A value may be a callable taking the field's arguments; the resolver calls it, so relations
and connections are built only when a document selects them. Every dict names its
`__typename` so interfaces (`Node`, `DisplayableError`) resolve. Records listed in
`Faults.corrupt_ids` (numeric id, global id or SKU) come back malformed: no SKU, a price of
"not-a-number", an empty barcode and title.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from graphql import GraphQLError

from sandbox.shopify import search
from sandbox.shopify.model import (
    InventoryItem,
    Location,
    Product,
    Subscription,
    Variant,
    gid,
    iso,
    money,
)
from sandbox.shopify.store import Store

View = dict[str, Any]
QUANTITY_NAMES = ("available", "committed", "damaged", "incoming", "on_hand", "quality_control", "reserved",
                  "safety_stock")


@dataclass
class Ctx:
    """Per-request context: the store, who is asking, and search warnings to report."""
    store: Store
    shop_domain: str
    api_version: str
    access_scopes: list[str]
    search_warnings: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""   # the server's own URL (bulk operation files are served there)
    bulk: bool = False   # executing a bulk query: every connection returns all its nodes

    def corrupt(self, kind: str, number: int, sku: str | None = None) -> bool:
        marks = self.store.faults.corrupt_ids
        return bool(marks) and bool({str(number), gid(kind, number), sku or "\0"} & marks)

    def connection(self, records: list[Any], args: dict[str, Any], node: Callable[[Any], View], *,
                   fields: dict[str, search.Getter] | None = None, path: str = "",
                   sorts: dict[str, search.Getter] | None = None) -> View:
        if fields is not None and args.get("query"):
            warnings: list[dict[str, Any]] = []
            records = search.filter_records(records, args["query"], fields, warnings)
            if warnings:
                self.search_warnings.append({"path": [path], "query": args["query"], "warnings": warnings})
        sort = (sorts or {}).get(args.get("sortKey") or "ID") or (lambda r: r.id)
        if self.bulk:
            return search.everything(records, args, sort=sort, record_id=lambda r: r.id, node=node)
        return search.page(records, args, sort=sort, record_id=lambda r: r.id, node=node)


def money_bag(amount: Decimal, currency: str) -> View:
    value = {"amount": money(amount), "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": dict(value)}


def count(number: int) -> View:
    return {"count": number, "precision": "EXACT"}


def location(ctx: Ctx, loc: Location) -> View:
    store = ctx.store
    return {
        "__typename": "Location", "id": gid("Location", loc.id), "legacyResourceId": str(loc.id),
        "name": loc.name, "isActive": loc.active, "activatable": False, "deactivatable": True,
        "deletable": False, "fulfillsOnlineOrders": True, "hasActiveInventory": True, "shipsInventory": True,
        "isFulfillmentService": False, "hasUnfulfilledOrders": False, "addressVerified": True,
        "createdAt": iso(loc.created_at), "updatedAt": iso(loc.created_at), "deactivatedAt": None,
        "address": {"formatted": [loc.name], "countryCode": "DE", "country": "Germany", "city": "Berlin"},
        "inventoryLevels": lambda a: ctx.connection(
            [i for i in store.items.values() if loc.id in i.levels], a, lambda i: level(ctx, i, loc.id)),
        "inventoryLevel": lambda a: _level_for_item(ctx, a["inventoryItemId"], loc.id),
    }


def _level_for_item(ctx: Ctx, item_gid: str, location_id: int) -> View | None:
    item = ctx.store.items.get(int(item_gid.rsplit("/", 1)[-1])) if item_gid.rsplit("/", 1)[-1].isdigit() else None
    return level(ctx, item, location_id) if item and location_id in item.levels else None


def product(ctx: Ctx, prod: Product) -> View:
    store = ctx.store
    variants = store.product_variants(prod)
    bad = ctx.corrupt("Product", prod.id)
    return {
        "__typename": "Product", "id": gid("Product", prod.id), "legacyResourceId": str(prod.id),
        "title": "" if bad else prod.title, "handle": prod.handle, "status": prod.status, "vendor": prod.vendor,
        "productType": prod.product_type, "tags": list(prod.tags), "descriptionHtml": "", "description": "",
        "createdAt": iso(prod.created_at), "updatedAt": iso(prod.updated_at),
        "publishedAt": iso(prod.created_at) if prod.status == "ACTIVE" else None,
        "isGiftCard": False, "requiresSellingPlan": False, "onlineStoreUrl": None, "templateSuffix": None,
        "hasOnlyDefaultVariant": len(variants) == 1 and variants[0].title == "Default Title",
        "hasOutOfStockVariants": any(_available(store, v) <= 0 for v in variants),
        "totalInventory": sum(_available(store, v) for v in variants), "tracksInventory": True,
        "variantsCount": count(len(variants)),
        "variants": lambda a: ctx.connection(store.product_variants(prod), a, lambda v: variant(ctx, v),
                                             sorts=VARIANT_SORTS),
        "options": lambda a: [_option(prod, variants)],
    }


def _option(prod: Product, variants: list[Variant]) -> View:
    values = list(dict.fromkeys(v.option for v in variants))
    return {"__typename": "ProductOption", "id": gid("ProductOption", prod.id), "name": prod.option_name,
            "position": 1, "values": values,
            "optionValues": [{"__typename": "ProductOptionValue", "id": gid("ProductOptionValue", prod.id * 100 + n),
                              "name": value, "hasVariants": True} for n, value in enumerate(values, 1)]}


def _available(store: Store, var: Variant) -> int:
    return sum(level.available for level in store.item_of(var).levels.values())


def variant(ctx: Ctx, var: Variant) -> View:
    store = ctx.store
    prod = store.products[var.product_id]
    bad = ctx.corrupt("ProductVariant", var.id, var.sku) or ctx.corrupt("Product", prod.id)
    option = {"name": prod.option_name, "value": var.option,
              "optionValue": {"__typename": "ProductOptionValue", "id": gid("ProductOptionValue", var.id),
                              "name": var.option, "hasVariants": True}}
    return {
        "__typename": "ProductVariant", "id": gid("ProductVariant", var.id), "legacyResourceId": str(var.id),
        "title": var.title, "displayName": f"{prod.title} - {var.title}",
        "sku": None if bad else var.sku, "barcode": "" if bad else var.barcode,
        "price": "not-a-number" if bad else money(var.price),
        "compareAtPrice": money(var.compare_at_price) if var.compare_at_price is not None else None,
        "position": var.position, "inventoryPolicy": var.inventory_policy,
        "inventoryQuantity": _available(store, var), "availableForSale": prod.status == "ACTIVE",
        "sellableOnlineQuantity": max(_available(store, var), 0), "taxable": True, "requiresComponents": False,
        "showUnitPrice": False, "createdAt": iso(var.created_at), "updatedAt": iso(var.updated_at),
        "selectedOptions": [option],
        "inventoryItem": lambda a: inventory_item(ctx, store.item_of(var)),
        "product": lambda a: product(ctx, prod),
    }


def inventory_item(ctx: Ctx, item: InventoryItem) -> View:
    store = ctx.store
    var = store.variants[item.variant_id]
    bad = ctx.corrupt("InventoryItem", item.id) or ctx.corrupt("ProductVariant", var.id, var.sku)
    return {
        "__typename": "InventoryItem", "id": gid("InventoryItem", item.id), "legacyResourceId": str(item.id),
        "sku": None if bad else var.sku, "tracked": item.tracked, "requiresShipping": True,
        "createdAt": iso(item.created_at), "updatedAt": iso(item.updated_at), "duplicateSkuCount": 0,
        "countryCodeOfOrigin": None, "harmonizedSystemCode": None, "provinceCodeOfOrigin": None,
        "unitCost": None, "inventoryHistoryUrl": None, "locationsCount": count(len(item.levels)),
        "variant": lambda a: variant(ctx, var),
        "inventoryLevels": lambda a: ctx.connection(
            [store.locations[loc] for loc in item.levels], a, lambda loc: level(ctx, item, loc.id)),
        "inventoryLevel": lambda a: _level_at(ctx, item, a["locationId"]),
    }


def _level_at(ctx: Ctx, item: InventoryItem, location_gid: str) -> View | None:
    number = location_gid.rsplit("/", 1)[-1]
    return level(ctx, item, int(number)) if number.isdigit() and int(number) in item.levels else None


def level(ctx: Ctx, item: InventoryItem, location_id: int) -> View:
    stored = item.levels[location_id]

    def quantities(args: dict[str, Any]) -> list[View]:
        unknown = [n for n in args["names"] if n not in QUANTITY_NAMES]
        if unknown:
            raise GraphQLError(f"Invalid quantity name(s): {', '.join(unknown)}. Valid names are: "
                               f"{', '.join(QUANTITY_NAMES)}.", extensions={"code": "BAD_REQUEST"})
        values = stored.quantities()
        return [{"__typename": "InventoryQuantity", "id": f"gid://shopify/InventoryQuantity/{location_id}"
                 f"?inventory_item_id={item.id}&name={name}", "name": name, "quantity": values.get(name, 0),
                 "updatedAt": iso(stored.updated_at)} for name in args["names"]]

    return {
        "__typename": "InventoryLevel",
        "id": f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item.id}",
        "isActive": True, "canDeactivate": True, "deactivationAlert": None,
        "createdAt": iso(item.created_at), "updatedAt": iso(stored.updated_at),
        "quantities": quantities,
        "item": lambda a: inventory_item(ctx, item),
        "location": lambda a: location(ctx, ctx.store.locations[location_id]),
    }


PRODUCT_SORTS: dict[str, search.Getter] = {"ID": lambda p: p.id, "TITLE": lambda p: p.title,
                                           "UPDATED_AT": lambda p: p.updated_at,
                                           "CREATED_AT": lambda p: p.created_at}
VARIANT_SORTS: dict[str, search.Getter] = {"ID": lambda v: v.id, "SKU": lambda v: v.sku or "",
                                           "TITLE": lambda v: v.title, "POSITION": lambda v: v.position}
ORDER_SORTS: dict[str, search.Getter] = {"ID": lambda o: o.id, "UPDATED_AT": lambda o: o.updated_at,
                                         "CREATED_AT": lambda o: o.created_at,
                                         "PROCESSED_AT": lambda o: o.created_at,
                                         "ORDER_NUMBER": lambda o: o.number, "TOTAL_PRICE": lambda o: o.total()}


def subscription(ctx: Ctx, sub: Subscription) -> View:
    return {
        "__typename": "WebhookSubscription", "id": gid("WebhookSubscription", sub.id),
        "legacyResourceId": str(sub.id), "topic": sub.topic, "uri": sub.uri, "format": sub.format,
        "callbackUrl": sub.uri, "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": sub.uri},
        "createdAt": iso(sub.created_at), "updatedAt": iso(sub.updated_at), "filter": None, "name": None,
        "includeFields": list(sub.include_fields), "metafieldNamespaces": [], "metafields": [],
        "apiVersion": {"handle": ctx.api_version, "displayName": ctx.api_version, "supported": True},
    }

