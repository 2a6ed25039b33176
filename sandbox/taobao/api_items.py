"""Items, SKUs and stock: `taobao.items.onsale.get`, `taobao.item.seller.get`,
`taobao.item.skus.get`, `taobao.item.quantity.update`, `taobao.skus.quantity.update`."""

from __future__ import annotations

from typing import Any

from sandbox.taobao.errors import TopError, business, invalid, missing
from sandbox.taobao.model import Item, Sku, show_time, yuan
from sandbox.taobao.shop import Call, TaobaoShop
from sandbox.taobao.store import StockRefused

DEEP_PAGING_LIMIT = 20_000  # page_no * page_size beyond this is refused (the stricter of the documented two)
BATCH_LIMIT = 20


def pick(record: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    """Only the requested fields, and none that are empty (TOP omits absent values)."""
    return {k: v for k, v in record.items() if k in fields and v is not None}


def sku_json(sku: Sku, corrupt: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """A SKU as TOP shows it; one named in `corrupt_ids` (outer id or sku id) comes malformed."""
    if {sku.outer_id, str(sku.sku_id)} & corrupt:
        return {"sku_id": sku.sku_id, "num_iid": sku.num_iid, "outer_id": sku.outer_id, "quantity": "n/a",
                "price": "", "properties_name": sku.properties_name}
    return {"sku_id": sku.sku_id, "num_iid": sku.num_iid, "outer_id": sku.outer_id,
            "properties": ":".join(sku.properties_name.split(":")[:2]),
            "properties_name": sku.properties_name, "quantity": sku.quantity, "price": yuan(sku.price),
            "barcode": sku.barcode, "created": show_time(sku.modified), "modified": show_time(sku.modified),
            "status": "normal"}


def item_json(shop: TaobaoShop, item: Item, fields: set[str]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "num_iid": item.num_iid, "title": item.title, "outer_id": item.outer_id, "num": item.num,
        "price": yuan(item.price), "approve_status": item.approve_status, "type": "fixed",
        "nick": shop.store.seller_nick, "modified": show_time(item.modified),
        "list_time": show_time(item.modified), "is_presale": item.presale}
    wanted = set(fields)
    if fields & {"sku", "skus"}:
        record["skus"] = {"sku": [sku_json(s, shop.faults.corrupt_ids) for s in item.skus]}
        wanted.add("skus")
    return pick(record, wanted)


def _item(shop: TaobaoShop, call: Call) -> Item:
    num_iid = call.number("num_iid", required=True) or 0
    item = shop.store.item(num_iid)
    if item is None:
        raise business("isv.item-not-exist", f"商品 {num_iid} 不存在或不属于当前卖家")
    return item


def items_onsale_get(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    fields = call.fields()
    page_no = call.number("page_no", default=1, low=1) or 1
    page_size = call.number("page_size", default=40, low=1, high=200) or 40
    if page_no * page_size > DEEP_PAGING_LIMIT:
        raise invalid("page_no", f"page_no*page_size may not exceed {DEEP_PAGING_LIMIT}; narrow by modified time")
    start, end = call.moment("start_modified"), call.moment("end_modified")
    with shop.store.lock:
        items = [i for i in shop.store.items.values() if i.approve_status == "onsale"
                 and (start is None or i.modified >= start) and (end is None or i.modified <= end)]
        items.sort(key=lambda i: i.num_iid, reverse=True)  # list_time:desc, newest listing first
        page = items[(page_no - 1) * page_size: page_no * page_size]
        body: dict[str, Any] = {"total_results": len(items)}
        if page:
            body["items"] = {"item": [item_json(shop, i, fields - {"sku", "skus"}) for i in page]}
        return body


def item_seller_get(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    fields = call.fields()
    with shop.store.lock:
        return {"item": item_json(shop, _item(shop, call), fields)}


def item_skus_get(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    fields = call.fields()
    raw = call.text("num_iids", required=True) or ""
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    if len(ids) > 40:
        raise invalid("num_iids", f"at most 40 num_iids per call, got {len(ids)}")
    with shop.store.lock:
        skus: list[dict[str, Any]] = []
        for num_iid in ids:
            item = shop.store.item(int(num_iid)) if num_iid.isdigit() else None
            if item is not None:
                skus.extend(pick(sku_json(s, shop.faults.corrupt_ids), fields) for s in item.skus)
        return {"skus": {"sku": skus}} if skus else {}


def _find_sku(item: Item, *, sku_id: int | None = None, outer_id: str | None = None) -> list[Sku]:
    if sku_id is not None:
        found = [s for s in item.skus if s.sku_id == sku_id]
        if not found:
            raise invalid("sku_id", f"sku_id {sku_id} is not a SKU of item {item.num_iid}")
        return found
    found = [s for s in item.skus if s.outer_id == outer_id]
    if not found:
        raise invalid("outer_id", f"no SKU of item {item.num_iid} has 商家编码 {outer_id!r}")
    return found


def _stock_type(call: Call) -> bool:
    """True for incremental (type=2), False for full (type=1, the default)."""
    return call.number("type", default=1, low=1, high=2) == 2


def _refusal(error: StockRefused) -> TopError:
    return business(error.sub_code, str(error))


def item_quantity_update(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    incremental = _stock_type(call)
    quantity = call.number("quantity", required=True)
    assert quantity is not None
    if not incremental and quantity < 0:
        raise invalid("quantity", "a full update (type=1) needs quantity >= 0")
    with shop.store.lock:
        item = _item(shop, call)
        sku_id, outer_id = call.number("sku_id"), call.text("outer_id")
        if sku_id is None and outer_id is None:
            raise business("isv.item-quantity-item-update-service-error",
                           f"商品 {item.num_iid} 有SKU; 请传 sku_id 或 outer_id")
        sku = _find_sku(item, sku_id=sku_id, outer_id=outer_id)[0]
        try:
            shop.store.write_stock(sku, quantity, incremental=incremental)
        except StockRefused as error:
            raise _refusal(error) from None
        return {"item": {"iid": str(item.num_iid), "num_iid": item.num_iid, "num": item.num,
                         "modified": show_time(item.modified),
                         "skus": {"sku": [{"sku_id": sku.sku_id, "quantity": sku.quantity,
                                           "modified": show_time(sku.modified)}]}}}


def _batch(call: Call, item: Item) -> list[tuple[Sku, int]]:
    by_id, raw = True, call.text("skuid_quantities")
    if raw is None:
        by_id, raw = False, call.text("outerid_quantities")
    if raw is None:
        raise missing("skuid_quantities")
    name = "skuid_quantities" if by_id else "outerid_quantities"
    pairs = [part.rsplit(":", 1) for part in raw.split(";") if part.strip()]
    if len(pairs) > BATCH_LIMIT:
        raise invalid(name, f"at most {BATCH_LIMIT} SKUs per call, got {len(pairs)}")
    updates: list[tuple[Sku, int]] = []
    for pair in pairs:
        if len(pair) != 2 or not pair[1].strip().lstrip("-").isdigit():
            raise invalid(name, f"expected key:quantity;key:quantity, got {':'.join(pair)!r}")
        key, value = pair[0].strip(), int(pair[1])
        if by_id and not key.isdigit():
            raise invalid(name, f"sku id {key!r} is not a number")
        skus = _find_sku(item, sku_id=int(key)) if by_id else _find_sku(item, outer_id=key)
        updates.extend((sku, value) for sku in skus)
    return updates


def skus_quantity_update(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    incremental = _stock_type(call)
    with shop.store.lock:
        item = _item(shop, call)
        updates = _batch(call, item)
        if not incremental and any(value < 0 for _, value in updates):
            raise invalid("skuid_quantities", "a full update (type=1) cannot set a negative quantity")
        if item.presale and not incremental:
            raise business("isv.item-is-presale", "预售商品只能增量更新库存; 请使用 type=2")
        try:
            for sku, value in updates:
                shop.store.write_stock(sku, value, incremental=incremental, clamp=True)
        except StockRefused as error:
            raise _refusal(error) from None
        return {"item": {"num_iid": item.num_iid, "num": item.num, "modified": show_time(item.modified),
                         "skus": {"sku": [{"sku_id": s.sku_id, "quantity": s.quantity,
                                           "modified": show_time(s.modified)} for s, _ in updates]}}}


HANDLERS = {
    "taobao.items.onsale.get": items_onsale_get,
    "taobao.item.seller.get": item_seller_get,
    "taobao.item.skus.get": item_skus_get,
    "taobao.item.quantity.update": item_quantity_update,
    "taobao.skus.quantity.update": skus_quantity_update,
}
