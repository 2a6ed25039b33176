"""快手 items, SKUs and stock: open.item.list.get, open.item.sku.list.get, open.item.sku.stock.update.

Stock is changed only by deltas: `changeType` 1 adds, 2 subtracts `skuChangeStock`
(0 < change < 9,999,999, and the result may not exceed 9,999,999). A subtraction that would cut
into stock reserved for an activity is refused with result 21; nothing makes a write idempotent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.kuaishou.errors import NOT_FOUND, STOCK_RESERVED, KuaishouError, bad, integer
from sandbox.kuaishou.payloads import item_json, sku_json
from sandbox.pushshop.shop import Product, Sku, StockRefused

if TYPE_CHECKING:
    from sandbox.kuaishou import KuaishouSimulator

MAX_STOCK = 9_999_999


def item_list(sim: KuaishouSimulator, params: dict[str, Any]) -> dict[str, Any]:
    page = integer(params, "pageNumber", default=1, minimum=1)
    size = min(integer(params, "pageSize", default=100), 100)
    if size < 10:
        raise bad("pageSize", "范围为10~100")
    item_id = params.get("kwaiItemId")
    with sim.shop.lock:
        products = sorted(sim.shop.products.values(), key=lambda p: p.product_id)
        if item_id:
            products = [p for p in products if p.product_id == integer(params, "kwaiItemId")]
        chunk = products[(page - 1) * size: page * size]
        return {"totalItemCount": len(products), "currentPageItemCount": len(chunk), "currentPageNumber": page,
                "totalPage": (len(products) + size - 1) // size,
                "items": [item_json(p, sim.faults.corrupt_ids) for p in chunk]}


def _item(sim: KuaishouSimulator, params: dict[str, Any]) -> Product:
    product = sim.shop.products.get(integer(params, "kwaiItemId"))
    if product is None:
        raise KuaishouError(NOT_FOUND, f"商品{params.get('kwaiItemId')}不存在", "isv.item-not-exist")
    return product


def sku_list(sim: KuaishouSimulator, params: dict[str, Any]) -> dict[str, Any]:
    with sim.shop.lock:
        skus = _item(sim, params).skus
        return {"skuCount": len(skus), "skuList": [sku_json(s, sim.faults.corrupt_ids) for s in skus]}


def _sku(sim: KuaishouSimulator, product: Product, sku_id: int) -> Sku:
    for sku in product.skus:
        if sku.sku_id == sku_id:
            return sku
    raise KuaishouError(NOT_FOUND, f"sku {sku_id}不属于商品{product.product_id}", "isv.sku-not-exist")


def stock_update(sim: KuaishouSimulator, params: dict[str, Any]) -> dict[str, Any]:
    change = integer(params, "skuChangeStock")
    if not 0 < change < MAX_STOCK:
        raise bad("skuChangeStock", "取值范围: 大于0小于9999999")
    change_type = integer(params, "changeType")
    if change_type not in (1, 2):
        raise bad("changeType", "1-增加 2-减少")
    with sim.shop.lock:
        sku = _sku(sim, _item(sim, params), integer(params, "skuId"))
        if change_type == 1 and sku.stock + change > MAX_STOCK:
            raise bad("skuChangeStock", "当前库存+变更数量不能大于9999999")
        delta = change if change_type == 1 else -change
        try:
            sim.shop.api_adjust(sku, delta, reason=f"open.item.sku.stock.update {delta:+d}")
        except StockRefused:
            raise KuaishouError(STOCK_RESERVED, "当前库存不足, 请减少预留数量", "isv.stock-not-enough") from None
        return {}


METHODS = {
    "open.item.list.get": ("GET", item_list),
    "open.item.sku.list.get": ("GET", sku_list),
    "open.item.sku.stock.update": ("POST", stock_update),
}
