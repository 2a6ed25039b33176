"""抖店 products, SKUs and stock: product.listV2, sku.list, sku.stockNum and the three stock writes.

`sku.syncStock` sets stock (full, the default) or adds `stock_num` to it (`incremental=true`,
which requires `idempotent_id`: a second request with an id already applied is refused with
isv.idempotent-id-existed and changes nothing). `sku.syncStockBatch` writes several SKUs of one
product all-or-nothing; `sku.syncStockBatchMultiProducts` writes up to 50 SKUs of any products and
answers per SKU. Writes never cut into stock held for an activity (`prom_stock_num`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from sandbox.douyin.errors import (
    INVALID_PLATFORM,
    DouyinError,
    boolean,
    failed,
    integer,
    invalid,
    missing,
    optional_integer,
)
from sandbox.pushshop.shop import Product, Sku, StockRefused

if TYPE_CHECKING:
    from sandbox.douyin import DouyinSimulator

MULTI_PRODUCT_LIMIT = 50
DEEP_PAGING_LIMIT = 10_000


def product_json(sim: DouyinSimulator, product: Product) -> dict[str, Any]:
    return {"product_id": product.product_id, "name": product.title, "status": 0 if product.online else 1,
            "check_status": 3, "product_type": 0, "out_product_id": 0, "img": "",
            "market_price": max(s.price for s in product.skus), "discount_price": min(s.price for s in product.skus),
            "create_time": int(product.created_at), "update_time": int(product.updated_at)}


def sku_json(sku: Sku, corrupt: Collection[str] = ()) -> dict[str, Any]:
    """The SKU as sku.list serves it; a SKU named in `corrupt` (a fault) comes without a usable stock."""
    return {"id": sku.sku_id, "product_id": sku.product_id, "product_id_str": str(sku.product_id),
            "code": sku.code, "out_sku_id": 0, "spec_detail_name1": sku.option, "spec_detail_name2": "",
            "spec_detail_name3": "", "price": sku.price, "sku_type": 0,
            "stock_num": "-" if sku.code in corrupt else sku.stock,
            "prehold_stock_num": 0, "prom_stock_num": sku.reserved, "normal_stock_num": sku.stock - sku.reserved,
            "channel_stock_num": 0, "step_stock_num": 0,
            "customs_report_info": {"bar_code": sku.barcode or ""}}


def product_list(sim: DouyinSimulator, params: dict[str, Any]) -> dict[str, Any]:
    page = integer(params, "page", default=1, minimum=1)
    size = integer(params, "size", default=10, minimum=1, maximum=100)
    if page * size > DEEP_PAGING_LIMIT:
        raise invalid("page", "page*size不能超过10000")
    status = optional_integer(params, "status")
    start, end = optional_integer(params, "update_start_time"), optional_integer(params, "update_end_time")
    wanted_ids = {int(pid) for pid in params.get("product_id") or []}
    if len(wanted_ids) > 100:
        raise invalid("product_id", "product_id最多100个")
    with sim.shop.lock:
        products = [p for p in sorted(sim.shop.products.values(), key=lambda p: p.product_id)
                    if (status is None or (0 if p.online else 1) == status)
                    and (start is None or int(p.updated_at) >= start)
                    and (end is None or int(p.updated_at) <= end)
                    and (not wanted_ids or p.product_id in wanted_ids)]
        chunk = products[(page - 1) * size: page * size]
        return {"data": [product_json(sim, p) for p in chunk], "total": len(products), "page": page, "size": size}


def _product(sim: DouyinSimulator, product_id: int) -> Product:
    product = sim.shop.products.get(product_id)
    if product is None:
        raise failed("isv.product-not-exist", f"商品{product_id}不存在")
    return product


def sku_list(sim: DouyinSimulator, params: dict[str, Any]) -> list[dict[str, Any]]:
    with sim.shop.lock:
        return [sku_json(s, sim.faults.corrupt_ids) for s in _product(sim, integer(params, "product_id")).skus]


def find_sku(sim: DouyinSimulator, params: dict[str, Any]) -> Sku:
    """The SKU a write or read names by `sku_id` or merchant `code` (checked against `product_id`)."""
    sku_id, code = optional_integer(params, "sku_id"), params.get("code")
    if sku_id is not None:
        sku = sim.shop.skus.get(sku_id)
    elif code:
        sku = sim.shop.by_code.get(str(code))
    else:
        raise missing("sku_id")
    if sku is None:
        raise failed("isv.sku-not-exist", f"sku {sku_id or code}不存在")
    product_id = optional_integer(params, "product_id")
    if product_id is not None and product_id != sku.product_id:
        raise invalid("product_id", f"sku {sku.sku_id}不属于商品{product_id}")
    return sku


def sku_stock_num(sim: DouyinSimulator, params: dict[str, Any]) -> dict[str, Any]:
    with sim.shop.lock:
        sku = find_sku(sim, params)
        return {key: value for key, value in sku_json(sku).items()
                if key in ("product_id", "code", "out_sku_id", "sku_type", "stock_num", "prehold_stock_num",
                           "prom_stock_num", "step_stock_num", "normal_stock_num", "channel_stock_num")} | {
            "sku_id": sku.sku_id, "prehold_step_stock_num": 0, "prom_step_stock_num": 0,
            "stock_num_map": {}, "prehold_stock_map": {}, "ship_rule_map": {}}


def _idempotent_id(sim: DouyinSimulator, params: dict[str, Any], incremental: bool) -> str | None:
    if not incremental:
        return None
    value = params.get("idempotent_id")
    if not value:
        raise missing("idempotent_id")
    if str(value) in sim.idempotent_ids:
        raise DouyinError(INVALID_PLATFORM, "非法的参数(平台校验)", "isv.idempotent-id-existed", "幂等ID重复")
    return str(value)


def _target(sku: Sku, stock_num: int, incremental: bool) -> int:
    """What the SKU's stock would become; refused below the activity reserve or zero."""
    target = sku.stock + stock_num if incremental else stock_num
    if not incremental and stock_num < 0:
        raise invalid("stock_num", "全量更新时stock_num不能为负数")
    if target < max(sku.reserved, 0):
        raise failed("isv.stock-not-enough", f"sku {sku.sku_id}: 库存不足, 不能低于活动库存{sku.reserved}")
    return target


def _apply(sim: DouyinSimulator, sku: Sku, target: int, reason: str) -> None:
    try:
        sim.shop.api_set(sku, target, reason=reason)
    except StockRefused:  # raced with a buyer between check and write (same lock: cannot happen)
        raise failed("isv.stock-not-enough", f"sku {sku.sku_id}: 库存不足") from None


def sync_stock(sim: DouyinSimulator, params: dict[str, Any]) -> dict[str, Any]:
    incremental = boolean(params, "incremental", default=False)
    stock_num = integer(params, "stock_num")
    with sim.shop.lock:
        sku = find_sku(sim, params)
        idempotent_id = _idempotent_id(sim, params, incremental)
        target = _target(sku, stock_num, incremental)
        _apply(sim, sku, target, f"sku.syncStock {idempotent_id or 'full'}")
        if idempotent_id:
            sim.idempotent_ids.add(idempotent_id)
        return {}


def sync_stock_batch(sim: DouyinSimulator, params: dict[str, Any]) -> dict[str, Any]:
    incremental = boolean(params, "incremental", default=False)
    product_id = integer(params, "product_id")
    entries = params.get("sku_sync_list")
    if not isinstance(entries, list) or not entries:
        raise missing("sku_sync_list")
    with sim.shop.lock:
        product = _product(sim, product_id)
        idempotent_id = _idempotent_id(sim, params, incremental)
        plan: list[tuple[Sku, int]] = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise invalid("sku_sync_list", "sku_sync_list的元素必须是对象")
            sku = find_sku(sim, {"sku_id": entry.get("sku_id"), "product_id": product.product_id})
            plan.append((sku, _target(sku, integer(entry, "stock_num"), incremental)))
        if len({sku.sku_id for sku, _ in plan}) != len(plan):
            raise invalid("sku_sync_list", "sku_id重复")
        for sku, target in plan:  # every entry checked above: all or nothing
            _apply(sim, sku, target, f"sku.syncStockBatch {idempotent_id or 'full'}")
        if idempotent_id:
            sim.idempotent_ids.add(idempotent_id)
        return {}


def sync_stock_multi(sim: DouyinSimulator, params: dict[str, Any]) -> dict[str, Any]:
    incremental = boolean(params, "incremental")
    items = params.get("items")
    if not isinstance(items, list) or not items:
        raise missing("items")
    if len(items) > MULTI_PRODUCT_LIMIT:
        raise invalid("items", f"一次请求最多支持{MULTI_PRODUCT_LIMIT}个sku")
    with sim.shop.lock:
        idempotent_id = _idempotent_id(sim, params, incremental)
        results = [_multi_item(sim, item, incremental, idempotent_id) for item in items]
        if idempotent_id and any(r["status_code"] == 0 for r in results):
            sim.idempotent_ids.add(idempotent_id)
        return {"results": results}


def _multi_item(sim: DouyinSimulator, item: Any, incremental: bool, idempotent_id: str | None) -> dict[str, Any]:
    sku_id = item.get("sku_id") if isinstance(item, dict) else None
    try:
        if not isinstance(item, dict):
            raise invalid("items", "items的元素必须是对象")
        sku = find_sku(sim, {"sku_id": item.get("sku_id"), "product_id": item.get("product_id")})
        before = sku.stock
        target = _target(sku, integer(item, "stock_num"), incremental)
        _apply(sim, sku, target, f"sku.syncStockBatchMultiProducts {idempotent_id or 'full'}")
    except DouyinError as error:
        return {"sku_id": sku_id or 0, "warehouse_id": 0, "stock_num": 0, "step_stock_num": 0, "change_num": 0,
                "step_change_num": 0, "status_code": error.code, "status_message": error.sub_msg}
    return {"sku_id": sku.sku_id, "warehouse_id": 0, "stock_num": sku.stock, "step_stock_num": 0,
            "change_num": sku.stock - before, "step_change_num": 0, "status_code": 0, "status_message": "success"}


METHODS = {
    "product.listV2": product_list,
    "sku.list": sku_list,
    "sku.stockNum": sku_stock_num,
    "sku.syncStock": sync_stock,
    "sku.syncStockBatch": sync_stock_batch,
    "sku.syncStockBatchMultiProducts": sync_stock_multi,
}
