"""Goods and stock: `pdd.goods.list.get`, `pdd.goods.quantity.update`."""

from __future__ import annotations

from typing import Any

from sandbox.pinduoduo.errors import bad_parameter, empty_parameter, refused
from sandbox.pinduoduo.model import Goods, Sku
from sandbox.pinduoduo.shop import Call, PddShop
from sandbox.pinduoduo.store import StockRefused


def sku_json(sku: Sku, goods: Goods, corrupt: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """A SKU as PDD lists it; one named in `corrupt_ids` (outer id or sku id) comes malformed."""
    if {sku.outer_id, str(sku.sku_id)} & corrupt:
        return {"sku_id": sku.sku_id, "outer_id": sku.outer_id, "sku_quantity": "n/a", "reserve_quantity": None}
    return {"sku_id": sku.sku_id, "outer_id": sku.outer_id, "outer_goods_id": goods.outer_goods_id,
            "sku_quantity": sku.quantity, "reserve_quantity": sku.reserve_quantity, "is_sku_onsale": sku.is_sku_onsale,
            "spec": sku.spec, "spec_details": [{"parent_id": 1, "parent_name": "尺码", "spec_id": sku.sku_id % 1000,
                                                "spec_name": sku.spec}]}


def goods_json(goods: Goods, corrupt: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    return {"goods_id": goods.goods_id, "goods_name": goods.goods_name, "is_onsale": goods.is_onsale,
            "is_more_sku": int(len(goods.skus) > 1), "created_at": int(goods.created_at.timestamp()),
            "goods_quantity": sum(s.quantity for s in goods.skus),
            "goods_reserve_quantity": sum(s.reserve_quantity for s in goods.skus),
            "sku_list": [sku_json(s, goods, corrupt) for s in goods.skus]}


def goods_list_get(shop: PddShop, call: Call) -> dict[str, Any]:
    page = call.number("page", default=1, low=1) or 1
    page_size = call.number("page_size", default=100, low=1, high=100) or 100
    is_onsale, outer_id, name = call.number("is_onsale", low=0, high=1), call.text("outer_id"), call.text("goods_name")
    created_from, created_end = call.number("created_at_from"), call.number("created_at_end")
    if created_from is not None and created_end is not None and created_end - created_from > 7 * 86_400:
        raise bad_parameter("created_at_from 与 created_at_end 间隔不能超过 7 天")
    with shop.store.lock:
        rows = sorted((g for g in shop.store.goods.values()
                       if (created_from is None or g.created_at.timestamp() >= created_from)
                       and (created_end is None or g.created_at.timestamp() <= created_end)),
                      key=lambda g: g.goods_id, reverse=True)
        if is_onsale is not None:  # is_onsale > outer_id > goods_name: only the first filter given applies
            rows = [g for g in rows if g.is_onsale == is_onsale]
        elif outer_id is not None:
            wanted = {part.strip() for part in outer_id.split(",")}
            rows = [g for g in rows if any(s.outer_id in wanted for s in g.skus)]
        elif name is not None:
            rows = [g for g in rows if name in g.goods_name]
        chunk = rows[(page - 1) * page_size: page * page_size]
        return {"goods_list": [goods_json(g, shop.faults.corrupt_ids) for g in chunk], "total_count": len(rows)}


def _sku(shop: PddShop, call: Call) -> Sku:
    goods_id = call.number("goods_id", required=True)
    goods = shop.store.goods.get(goods_id or 0)
    if goods is None:
        raise refused(f"商品 {goods_id} 不存在或不属于当前店铺")
    sku_id, outer_id = call.number("sku_id"), call.text("outer_id")
    if sku_id is None and outer_id is None:
        raise empty_parameter("sku_id")
    for sku in goods.skus:
        if (sku_id is not None and sku.sku_id == sku_id) or (sku_id is None and sku.outer_id == outer_id):
            return sku
    raise refused(f"商品 {goods_id} 没有 sku_id={sku_id} / outer_id={outer_id!r} 的规格")


def goods_quantity_update(shop: PddShop, call: Call) -> dict[str, Any]:
    quantity = call.number("quantity", required=True)
    update_type = call.number("update_type", default=1, low=1, high=2)
    assert quantity is not None
    if update_type == 1 and quantity < 0:
        raise bad_parameter("全量更新 (update_type=1) 时 quantity 必须大于等于 0")
    with shop.store.lock:
        sku = _sku(shop, call)
        try:
            shop.store.write_stock(sku, quantity, incremental=update_type == 2)
        except StockRefused as error:
            raise refused(str(error)) from None
        return {"is_success": True}


HANDLERS = {"pdd.goods.list.get": goods_list_get, "pdd.goods.quantity.update": goods_quantity_update}
