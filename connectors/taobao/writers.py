"""Stock writes and shipments for Taobao.

Stock: full writes (type=1) in the best form TOP offers — `taobao.skus.quantity.update` for
several SKUs of one item (≤ 20 per call), `taobao.item.quantity.update` for one. A refusal of a
batch is retried SKU by SKU, so every update gets its own result and reason; a 预售 item, which
refuses full writes, gets the difference to its current stock as an incremental write (type=2).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from connectors.errors import Rejected
from connectors.stock import StockUpdate, StockWriteResult
from connectors.taobao.client import TopClient

BATCH_LIMIT = 20
PRESALE = "isv.item-is-presale"


def set_stock(client: TopClient, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
    by_item: dict[str, list[StockUpdate]] = defaultdict(list)
    for update in updates:
        by_item[update.external_product_id].append(update)
    results: list[StockWriteResult] = []
    for num_iid, group in by_item.items():
        for start in range(0, len(group), BATCH_LIMIT):
            results.extend(_item_batch(client, num_iid, group[start:start + BATCH_LIMIT]))
    return results


def _item_batch(client: TopClient, num_iid: str, group: list[StockUpdate]) -> list[StockWriteResult]:
    if len(group) == 1:
        return [_one(client, group[0])]
    pairs = ";".join(f"{u.external_variant_id}:{u.quantity}" for u in group)
    try:
        body = client.call("taobao.skus.quantity.update", {"num_iid": num_iid, "skuid_quantities": pairs, "type": 1},
                           what=f"stock of item {num_iid}")
    except Rejected:
        return [_one(client, update) for update in group]  # find which SKU is refused, and why
    shown = {str(s.get("sku_id")): s.get("quantity") for s in ((body.get("item") or {}).get("skus") or {})
             .get("sku", [])}
    return [StockWriteResult.applied(u.listing_ref, _int(shown.get(u.external_variant_id), u.quantity)) for u in group]


def _one(client: TopClient, update: StockUpdate) -> StockWriteResult:
    what = f"stock of sku {update.external_variant_id} (item {update.external_product_id})"
    params = {"num_iid": update.external_product_id, "sku_id": update.external_variant_id, "type": 1,
              "quantity": update.quantity}
    try:
        body = client.call("taobao.item.quantity.update", params, what=what)
    except Rejected as error:
        if error.code != PRESALE:
            return StockWriteResult.rejected(update.listing_ref, error.reason)
        return _incremental(client, update, what)
    return StockWriteResult.applied(update.listing_ref, _sku_quantity(body, update))


def _incremental(client: TopClient, update: StockUpdate, what: str) -> StockWriteResult:
    """A 预售 item takes increments only: send the difference to what it shows now."""
    skus = client.call("taobao.item.skus.get", {"fields": "sku_id,quantity", "num_iids": update.external_product_id},
                       what=what).get("skus", {}).get("sku", [])
    current = next((_int(s.get("quantity"), 0) for s in skus if str(s.get("sku_id")) == update.external_variant_id),
                   None)
    if current is None:
        return StockWriteResult.rejected(update.listing_ref, f"sku {update.external_variant_id} is gone from its item")
    if current == update.quantity:
        return StockWriteResult.applied(update.listing_ref, current)
    params = {"num_iid": update.external_product_id, "sku_id": update.external_variant_id, "type": 2,
              "quantity": update.quantity - current}
    try:
        body = client.call("taobao.item.quantity.update", params, what=f"{what}, incremental (预售 item)")
    except Rejected as error:
        return StockWriteResult.rejected(update.listing_ref, error.reason)
    return StockWriteResult.applied(update.listing_ref, _sku_quantity(body, update))


def _sku_quantity(body: dict[str, object], update: StockUpdate) -> int:
    item = body.get("item")
    skus = (item.get("skus") or {}).get("sku", []) if isinstance(item, dict) else []
    return next((_int(s.get("quantity"), update.quantity) for s in skus
                 if str(s.get("sku_id")) == update.external_variant_id), update.quantity)


def _int(value: object, default: int) -> int:
    return int(value) if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else default
