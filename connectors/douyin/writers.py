"""抖店 writes: incremental stock under the engine's idempotency id, and shipments exactly once.

A delta goes out as `sku.syncStock` with `incremental=true` and `idempotent_id` = the engine's id,
one SKU per call, so a retry after a lost answer is recognised by the platform
(`isv.idempotent-id-existed`: the first send was applied) and never applies twice. A subtraction
the platform refuses (`isv.stock-not-enough`) is answered from a fresh `sku.stockNum`: rejected
when activity stock (`prom_stock_num`) is what blocks it, stale with the observed number when the
channel moved. Shipments look for their tracking number on the order first; a whole-order
shipment is `order.logisticsAdd`, a partial one `order.logisticsAddSinglePack` under the
shipment's idempotency key as `request_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.base import ShipmentPush, ShipmentResult
from connectors.douyin.client import DouyinClient
from connectors.douyin.normalise import tracking_numbers
from connectors.errors import Rejected
from connectors.liveshop.carriers import carrier_code
from connectors.liveshop.deltas import Live, short_result
from connectors.stock import StockUpdate, StockWriteResult

CARRIERS = {"sf": "shunfeng", "yto": "yuantong", "zto": "zhongtong", "yunda": "yunda", "sto": "shentong",
            "jt": "jtexpress", "ems": "ems", "post": "youzhengguonei", "jd": "jd", "deppon": "debangkuaidi",
            "dhl": "dhl"}
REPEATED = "isv.idempotent-id-existed"
SHORT = "isv.stock-not-enough"


def _ids(update: StockUpdate) -> dict[str, Any]:
    return {"sku_id": int(update.external_variant_id), "product_id": int(update.external_product_id)}


def live(client: DouyinClient, update: StockUpdate) -> Live:
    data = client.request("sku.stockNum", _ids(update), what=f"stock of sku {update.external_variant_id}") or {}
    return Live(int(data.get("stock_num") or 0), int(data.get("prom_stock_num") or 0))


def write(client: DouyinClient, update: StockUpdate) -> StockWriteResult:
    if update.delta is None or update.idempotency_id is None:  # an absolute number: a full sync
        params = {**_ids(update), "incremental": False, "stock_num": update.quantity}
    elif update.delta == 0:
        return StockWriteResult.applied(update.listing_ref, update.quantity)
    else:
        params = {**_ids(update), "incremental": True, "idempotent_id": update.idempotency_id,
                  "stock_num": update.delta}
    try:
        client.request("sku.syncStock", params, what=f"stock of sku {update.external_variant_id}")
    except Rejected as refused:
        if refused.code == REPEATED:
            return StockWriteResult.applied(update.listing_ref)
        if refused.code == SHORT and update.delta is not None:
            return short_result(update, live(client, update), refused.reason, "douyin")
        return StockWriteResult.rejected(update.listing_ref, refused.reason)
    return StockWriteResult.applied(update.listing_ref)


def set_stock(client: DouyinClient, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
    return [write(client, update) for update in updates]


def push_shipment(client: DouyinClient, shipment: ShipmentPush, *, where: str) -> ShipmentResult:
    order_id = shipment.order_external_id
    detail = (client.request("order.orderDetail", {"shop_order_id": order_id}, what=f"order {order_id}") or {}
              ).get("shop_order_detail") or {}
    if shipment.tracking_number in tracking_numbers(detail):
        return ShipmentResult(shipment.tracking_number, already_present=True)
    company = carrier_code(shipment.carrier, CARRIERS, where=where, platform="douyin")
    try:
        _send_shipment(client, shipment, company, where=where)
    except Rejected:  # a retry after a lost answer finds the order shipped: was it by us?
        again = (client.request("order.orderDetail", {"shop_order_id": order_id}, what=f"order {order_id}") or {}
                 ).get("shop_order_detail") or {}
        if shipment.tracking_number not in tracking_numbers(again):
            raise
    return ShipmentResult(shipment.tracking_number)


def _send_shipment(client: DouyinClient, shipment: ShipmentPush, company: str, *, where: str) -> None:
    order_id = shipment.order_external_id
    if shipment.complete:
        client.request("order.logisticsAdd", {"order_id": order_id, "company_code": company,
                                              "logistics_code": shipment.tracking_number},
                       what=f"shipment of order {order_id}")
    else:
        if not shipment.lines:
            raise Rejected(where, f"a partial shipment of order {order_id} names no lines")
        client.request("order.logisticsAddSinglePack", {
            "order_id_list": [order_id], "company_code": company, "logistics_code": shipment.tracking_number,
            "request_id": shipment.idempotency_key[:64],
            "shipped_order_info": [{"shipped_order_id": line_id, "shipped_num": quantity}
                                   for line_id, quantity in shipment.lines]}, what=f"shipment of order {order_id}")
