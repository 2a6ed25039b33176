"""`/wp-json/wc/v3/products` and `/products/{id}/variations`: list, get, write, batch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.woocommerce import catalog
from sandbox.woocommerce.context import Sim, path_id, require, run_batch
from sandbox.woocommerce.errors import WPJSONResponse, invalid_id
from sandbox.woocommerce.model import Product
from sandbox.woocommerce.params import body, boolean, choice, id_list, moment, paginate, string_list
from sandbox.woocommerce.serialise import product_json, variation_json

ORDERBY = ("date", "id", "include", "title", "slug", "modified", "price", "menu_order")
PRODUCT_STATUS_FILTER = ("any", "draft", "pending", "private", "publish", "trash", "future")


def _sort_key(orderby: str, include: list[int] | None) -> Callable[[Product], Any]:
    keys: dict[str, Callable[[Product], Any]] = {
        "date": lambda p: (p.created, p.id), "id": lambda p: p.id, "title": lambda p: (p.name, p.id),
        "slug": lambda p: (p.slug, p.id), "modified": lambda p: (p.modified, p.id),
        "price": lambda p: (Decimal(p.price or "0"), p.id), "menu_order": lambda p: (0, p.id),
        "include": lambda p: (include or []).index(p.id) if include and p.id in include else p.id,
    }
    return keys[orderby]


def _filtered(request: Request, s: Sim, candidates: list[Product]) -> list[Product]:
    """Apply the collection arguments WooCommerce products and variations share."""
    gmt = boolean(request, "dates_are_gmt")
    bounds: dict[str, datetime | None] = {
        name: moment(request, s.store, name, gmt=gmt)
        for name in ("after", "before", "modified_after", "modified_before")}
    include, exclude = id_list(request, "include"), id_list(request, "exclude") or []
    skus = string_list(request, "sku")
    status = choice(request, "status", "any", PRODUCT_STATUS_FILTER)
    stock_status = request.query_params.get("stock_status")
    kind = request.query_params.get("type")
    search = (request.query_params.get("search") or "").lower()
    result = []
    for product in candidates:
        if (status == "any" and product.status == "trash") or status not in ("any", product.status):
            continue
        if (include is not None and product.id not in include) or product.id in exclude:
            continue
        if skus is not None and product.sku not in skus:
            continue
        if (kind and product.type != kind) or (stock_status and s.store.stock_status(product) != stock_status):
            continue
        if search and search not in product.name.lower():
            continue
        if not _within(product.created, bounds["after"], bounds["before"]):
            continue
        if not _within(product.modified, bounds["modified_after"], bounds["modified_before"]):
            continue
        result.append(product)
    orderby = choice(request, "orderby", "date", ORDERBY)
    order = choice(request, "order", "desc", ("asc", "desc"))
    return sorted(result, key=_sort_key(orderby, include), reverse=order == "desc")


def _within(value: datetime, after: datetime | None, before: datetime | None) -> bool:
    return (after is None or value > after) and (before is None or value < before)


async def list_products(request: Request) -> Response:
    s = require(request, "list")
    with s.store.lock:
        page, headers = paginate(request, _filtered(request, s, s.store.parents()))
        data = [product_json(s.store, p, corrupt=s.corrupt(p.id)) for p in page]
    return WPJSONResponse(data, headers=headers)


async def get_product(request: Request) -> Response:
    s = require(request, "view")
    with s.store.lock:
        product = catalog.find_product(s.store, path_id(request))
        return WPJSONResponse(product_json(s.store, product, corrupt=s.corrupt(product.id)))


async def create_product(request: Request) -> Response:
    s = require(request, "create")
    data = await body(request)
    with s.store.lock:
        product = catalog.create_product(s.store, data)
        return WPJSONResponse(product_json(s.store, product), status_code=201)


def _update(s: Sim, product_id: int, data: dict[str, Any], *, source: str) -> dict[str, Any]:
    product = catalog.find_product(s.store, product_id, status=400)
    catalog.update_product(s.store, product, data, source=source)
    return product_json(s.store, product)


async def update_product(request: Request) -> Response:
    s = require(request, "edit")
    data = await body(request)
    with s.store.lock:
        return WPJSONResponse(_update(s, path_id(request), data, source="api"))


def _delete(s: Sim, product_id: int, *, force: bool) -> dict[str, Any]:
    product = catalog.find_product(s.store, product_id)
    before = product_json(s.store, product)
    catalog.delete_product(s.store, product, force=force)
    return before if force else product_json(s.store, product)


async def delete_product(request: Request) -> Response:
    s = require(request, "delete")
    with s.store.lock:
        return WPJSONResponse(_delete(s, path_id(request), force=boolean(request, "force")))


async def batch_products(request: Request) -> Response:
    s = require(request, "batch")
    payload = await body(request)
    with s.store.lock:
        result = run_batch(
            payload,
            create=lambda item: product_json(s.store, catalog.create_product(s.store, item)),
            update=lambda item: _update(s, int(item.get("id") or 0), item, source="batch"),
            delete=lambda product_id: _delete(s, product_id, force=True),
        )
    return WPJSONResponse(result)


# ---- variations --------------------------------------------------------------------------
def _parent(s: Sim, request: Request) -> Product:
    parent = s.store.product(path_id(request, "product_id"))
    if parent is None or parent.type == "variation":
        raise invalid_id("product")
    return parent


async def list_variations(request: Request) -> Response:
    s = require(request, "list")
    with s.store.lock:
        parent = _parent(s, request)
        page, headers = paginate(request, _filtered(request, s, s.store.variations(parent)))
        data = [variation_json(s.store, v, corrupt=s.corrupt(v.id)) for v in page]
    return WPJSONResponse(data, headers=headers)


async def get_variation(request: Request) -> Response:
    s = require(request, "view")
    with s.store.lock:
        variation = catalog.find_variation(s.store, path_id(request, "product_id"), path_id(request))
        return WPJSONResponse(variation_json(s.store, variation, corrupt=s.corrupt(variation.id)))


def _update_variation(s: Sim, parent_id: int, variation_id: int, data: dict[str, Any],
                      source: str) -> dict[str, Any]:
    variation = catalog.find_variation(s.store, parent_id, variation_id, status=400)
    catalog.update_product(s.store, variation, data, source=source)
    return variation_json(s.store, variation)


async def update_variation(request: Request) -> Response:
    s = require(request, "edit")
    data = await body(request)
    with s.store.lock:
        parent_id = path_id(request, "product_id")
        return WPJSONResponse(_update_variation(s, parent_id, path_id(request), data, "api"))


async def create_variation(request: Request) -> Response:
    s = require(request, "create")
    data = await body(request)
    with s.store.lock:
        variation = catalog.create_variation(s.store, _parent(s, request), data)
        return WPJSONResponse(variation_json(s.store, variation), status_code=201)


def _delete_variation(s: Sim, parent_id: int, variation_id: int) -> dict[str, Any]:
    variation = catalog.find_variation(s.store, parent_id, variation_id)
    before = variation_json(s.store, variation)
    catalog.delete_product(s.store, variation, force=True)
    return before


async def delete_variation(request: Request) -> Response:
    s = require(request, "delete")
    with s.store.lock:
        return WPJSONResponse(_delete_variation(s, path_id(request, "product_id"), path_id(request)))


async def batch_variations(request: Request) -> Response:
    s = require(request, "batch")
    payload = await body(request)
    with s.store.lock:
        parent = _parent(s, request)
        result = run_batch(
            payload,
            create=lambda item: variation_json(s.store, catalog.create_variation(s.store, parent, item)),
            update=lambda item: _update_variation(s, parent.id, int(item.get("id") or 0), item, "batch"),
            delete=lambda variation_id: _delete_variation(s, parent.id, variation_id),
        )
    return WPJSONResponse(result)


WRITE = ["PUT", "POST", "PATCH"]
P = "/wp-json/wc/v3/products"
ROUTES = [
    Route(P, list_products, methods=["GET"]),
    Route(P, create_product, methods=["POST"]),
    Route(f"{P}/batch", batch_products, methods=WRITE),
    Route(P + "/{id:int}", get_product, methods=["GET"]),
    Route(P + "/{id:int}", update_product, methods=WRITE),
    Route(P + "/{id:int}", delete_product, methods=["DELETE"]),
    Route(P + "/{product_id:int}/variations", list_variations, methods=["GET"]),
    Route(P + "/{product_id:int}/variations", create_variation, methods=["POST"]),
    Route(P + "/{product_id:int}/variations/batch", batch_variations, methods=WRITE),
    Route(P + "/{product_id:int}/variations/{id:int}", get_variation, methods=["GET"]),
    Route(P + "/{product_id:int}/variations/{id:int}", update_variation, methods=WRITE),
    Route(P + "/{product_id:int}/variations/{id:int}", delete_variation, methods=["DELETE"]),
]
