"""The REST Admin subset used for baselines: products, one variant, inventory levels.

Every answer carries `X-Shopify-Shop-Api-Call-Limit: used/capacity`; when the request bucket
(40, leaking 2/s on `standard`) is full the answer is 429 with `Retry-After`. Products page
with `limit` (<= 250) and an opaque `page_info`, announced in a `Link` header.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.shopify import payloads
from sandbox.shopify.shop import AUTH_ERROR, ShopRuntime

MAX_LIMIT = 250


def _call_limit(shop: ShopRuntime) -> str:
    bucket = shop.rest_bucket
    used = min(bucket.capacity, max(0, math.ceil(bucket.capacity - bucket.available)))
    return f"{int(used)}/{int(bucket.capacity)}"


def _answer(shop: ShopRuntime, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    all_headers = {"X-Shopify-Shop-Api-Call-Limit": _call_limit(shop), "X-Shopify-API-Version": shop.api_version,
                   **(headers or {})}
    return JSONResponse(body, status_code=status, headers=all_headers)


def _gate(shop: ShopRuntime, request: Request) -> Response | None:
    """401 without a valid token, 429 when the request bucket is full, else None."""
    if not shop.authorised(request.headers):
        return JSONResponse(AUTH_ERROR, status_code=401)
    if not shop.rest_bucket.take(1):
        shop.count_throttled("rest")
        wait = max(shop.rest_bucket.seconds_until(1), 0.05)
        rate = shop.rest_bucket.restore_rate
        message = f"Exceeded {rate:g} calls per second for api client. Reduce request rates to resume " \
                  "uninterrupted service."
        return _answer(shop, {"errors": message}, 429, {"Retry-After": f"{wait:.1f}"})
    return None


def _ids(raw: str | None) -> list[int]:
    return [int(part) for part in (raw or "").split(",") if part.strip().isdigit()]


def _page_info(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"last_id": last_id, "direction": "next"}).encode()).decode()


async def products(request: Request) -> Response:
    shop: ShopRuntime = request.app.state.shop
    refused = _gate(shop, request)
    if refused:
        return refused
    params = request.query_params
    limit = min(int(params.get("limit", 50)), MAX_LIMIT)
    after = 0
    if params.get("page_info"):
        try:
            after = int(json.loads(base64.urlsafe_b64decode(params["page_info"].encode()))["last_id"])
        except (ValueError, KeyError):
            return _answer(shop, {"errors": {"page_info": "Invalid value."}}, 400)
    else:
        after = int(params.get("since_id", 0))
    store = shop.store
    with store.lock:
        wanted = set(_ids(params.get("ids")))
        rows = sorted((p for p in store.products.values() if p.id > after and (not wanted or p.id in wanted)),
                      key=lambda p: p.id)
        page = rows[:limit]
        body = {"products": [payloads.product(store, p, shop.faults.corrupt_ids) for p in page]}
    headers = {}
    if len(rows) > limit:
        next_url = f"{request.base_url}{request.url.path.lstrip('/')}?" + urlencode(
            {"limit": limit, "page_info": _page_info(page[-1].id)})
        headers["Link"] = f'<{next_url}>; rel="next"'
    return _answer(shop, body, headers=headers)


async def variant(request: Request) -> Response:
    shop: ShopRuntime = request.app.state.shop
    refused = _gate(shop, request)
    if refused:
        return refused
    store = shop.store
    with store.lock:
        record = store.variants.get(int(request.path_params["variant_id"]))
        if record is None:
            return _answer(shop, {"errors": "Not Found"}, 404)
        marks = shop.faults.corrupt_ids
        corrupt = bool({str(record.id), f"gid://shopify/ProductVariant/{record.id}", record.sku or "\0",
                        str(record.product_id)} & marks)
        return _answer(shop, {"variant": payloads.variant(store, record, corrupt=corrupt)})


async def inventory_levels(request: Request) -> Response:
    shop: ShopRuntime = request.app.state.shop
    refused = _gate(shop, request)
    if refused:
        return refused
    item_ids, location_ids = _ids(request.query_params.get("inventory_item_ids")), \
        _ids(request.query_params.get("location_ids"))
    if not item_ids and not location_ids:
        return _answer(shop, {"errors": "Must specify inventory_item_ids or location_ids"}, 422)
    store = shop.store
    with store.lock:
        levels = [payloads.inventory_level(item, loc)
                  for item in sorted(store.items.values(), key=lambda i: i.id) if not item_ids or item.id in item_ids
                  for loc in item.levels if not location_ids or loc in location_ids]
    limit = min(int(request.query_params.get("limit", 50)), MAX_LIMIT)
    return _answer(shop, {"inventory_levels": levels[:limit]})


async def set_inventory_level(request: Request) -> Response:
    shop: ShopRuntime = request.app.state.shop
    refused = _gate(shop, request)
    if refused:
        return refused
    try:
        data = json.loads(await request.body() or b"{}")
        item_id, location_id = int(data["inventory_item_id"]), int(data["location_id"])
        available = int(data["available"])
    except (ValueError, KeyError, TypeError):
        return _answer(shop, {"errors": {"base": ["inventory_item_id, location_id and available (integer) are "
                                                  "required"]}}, 422)
    store = shop.store
    with store.lock:
        item = store.items.get(item_id)
        if item is None or location_id not in store.locations:
            return _answer(shop, {"errors": "Not Found"}, 404)
        if location_id not in item.levels:
            return _answer(shop, {"errors": ["Inventory item does not have inventory tracking enabled at this "
                                             "location"]}, 422)
        store.set_quantity(item, location_id, "available", available, kind="rest_inventory_levels_set",
                           source="api", name="available", quantity=available)
        return _answer(shop, {"inventory_level": payloads.inventory_level(item, location_id)})
