"""微信小店 products and stock: product/list/get, product/get, product/stock/get|batchget|update.

`product/stock/update` takes `diff_type` 1 (add), 2 (subtract) or 3 (set, which the platform
discourages under concurrency) and `num`; each SKU takes at most `sku_updates_per_second` updates
(10020112 beyond), a delta of 0 is 10020218, and a subtraction or set below what may be taken
(stock held for live-stream exclusives counts as taken) is 10020219.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.pushshop.shop import Product, Sku, StockRefused
from sandbox.wechat.errors import (
    INSUFFICIENT_STOCK,
    PRODUCT_MISSING,
    STOCK_FREQUENCY,
    ZERO_DELTA,
    WechatError,
    integer,
    invalid,
)
from sandbox.wechat.paging import page
from sandbox.wechat.payloads import product_json, stock_json

if TYPE_CHECKING:
    from sandbox.wechat import WechatSimulator

LIST_PAGE_LIMIT = 30
BATCH_LIMIT = 50


def product_list(sim: WechatSimulator, body: dict[str, Any]) -> dict[str, Any]:
    size = integer(body, "page_size", default=10, minimum=1, maximum=LIST_PAGE_LIMIT)
    status = body.get("status")
    with sim.shop.lock:
        products = [p for p in sim.shop.products.values() if status is None or int(status) == (5 if p.online else 11)]
        chunk, next_key, _ = page(products, lambda p: (p.product_id, 0), body, size)
        return {"product_ids": [p.product_id for p in chunk], "next_key": next_key, "total_num": len(products)}


def _product(sim: WechatSimulator, product_id: Any) -> Product:
    try:
        product = sim.shop.products.get(int(product_id))
    except (TypeError, ValueError):
        product = None
    if product is None:
        raise WechatError(PRODUCT_MISSING, f"product {product_id} not exist")
    return product


def _sku(sim: WechatSimulator, body: dict[str, Any]) -> Sku:
    product = _product(sim, body.get("product_id"))
    sku_id = str(body.get("sku_id") or "")
    for sku in product.skus:
        if str(sku.sku_id) == sku_id:
            return sku
    raise WechatError(PRODUCT_MISSING, f"sku {sku_id} not exist in product {product.product_id}")


def product_get(sim: WechatSimulator, body: dict[str, Any]) -> dict[str, Any]:
    with sim.shop.lock:
        return {"product": product_json(_product(sim, body.get("product_id")), sim.faults.corrupt_ids)}


def stock_get(sim: WechatSimulator, body: dict[str, Any]) -> dict[str, Any]:
    with sim.shop.lock:
        return {"data": stock_json(_sku(sim, body))}


def stock_batchget(sim: WechatSimulator, body: dict[str, Any]) -> dict[str, Any]:
    ids = body.get("product_id")
    if not isinstance(ids, list) or not ids:
        raise invalid("product_id must be a non-empty array")
    if len(ids) > BATCH_LIMIT:
        raise invalid(f"product_id: at most {BATCH_LIMIT} products a call")
    with sim.shop.lock:
        products = [_product(sim, pid) for pid in ids]
        return {"data": {"spu_stock_list": [
            {"product_id": p.product_id, "sku_stock": [{"sku_id": s.sku_id, **stock_json(s)} for s in p.skus]}
            for p in products]}}


def stock_update(sim: WechatSimulator, body: dict[str, Any]) -> dict[str, Any]:
    diff_type = integer(body, "diff_type")
    if diff_type not in (1, 2, 3):
        raise invalid("diff_type: 1 add, 2 subtract, 3 set")
    num = integer(body, "num", minimum=0)
    if num == 0 and diff_type != 3:
        raise WechatError(ZERO_DELTA, "stock delta is 0")
    with sim.shop.lock:
        sku = _sku(sim, body)
        if sim.limits.take(f"sku:{sku.sku_id}", int(sim.options["sku_updates_per_second"]), 1.0) is not None:
            raise WechatError(STOCK_FREQUENCY, f"sku {sku.sku_id} stock update too frequently, retry later")
        try:
            if diff_type == 3:
                sim.shop.api_set(sku, num, reason="product/stock/update set")
            else:
                sim.shop.api_adjust(sku, num if diff_type == 1 else -num,
                                    reason=f"product/stock/update {'+' if diff_type == 1 else '-'}{num}")
        except StockRefused:
            raise WechatError(INSUFFICIENT_STOCK, f"sku {sku.sku_id} stock not enough to subtract") from None
        return {}


METHODS = {
    "product/list/get": product_list,
    "product/get": product_get,
    "product/stock/get": stock_get,
    "product/stock/batchget": stock_batchget,
    "product/stock/update": stock_update,
}
