"""快手 writes: delta stock guarded by the write journal, and shipments exactly once.

`open.item.sku.stock.update` takes only deltas and no idempotency id, so deltas go through
`connectors.liveshop.deltas.guarded_deltas`: live stock read first (one `open.item.sku.list.get`
per item), each delta sent once (`changeType` 1 add / 2 subtract), result 21 (stock held for an
activity) reconciled from a fresh read. Shipments look for their tracking number on the order
first; 快手 ships a whole order at once (`open.seller.order.goods.deliver`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from connectors.base import ShipmentPush, ShipmentResult
from connectors.errors import Rejected
from connectors.kuaishou.client import RESERVED_STOCK, KuaishouClient
from connectors.kuaishou.normalise import tracking_numbers
from connectors.liveshop.carriers import carrier_code
from connectors.liveshop.deltas import Live, Outcome, Sent, guarded_deltas
from connectors.liveshop.journal import DeltaJournal
from connectors.stock import StockUpdate, StockWriteResult

CARRIERS = {"sf": "4", "yto": "6", "zto": "9", "yunda": "11", "sto": "3", "jt": "109", "ems": "2", "post": "8",
            "jd": "14", "deppon": "17", "dhl": "20"}


def read_live(client: KuaishouClient, updates: Sequence[StockUpdate]) -> Mapping[str, Live]:
    found: dict[str, Live] = {}
    for item_id in sorted({u.external_product_id for u in updates}):
        data = client.request("open.item.sku.list.get", {"kwaiItemId": int(item_id)},
                              what=f"stock of item {item_id}") or {}
        by_sku = {str(s.get("kwaiSkuId")): s for s in data.get("skuList") or [] if isinstance(s, dict)}
        for update in (u for u in updates if u.external_product_id == item_id):
            sku = by_sku.get(update.external_variant_id)
            if sku is None:
                raise Rejected(client.where, f"item {item_id} has no sku {update.external_variant_id} any more")
            found[update.listing_ref] = Live(int(sku.get("skuStock") or 0), int(sku.get("reserveStock") or 0))
    return found


def send(client: KuaishouClient, update: StockUpdate) -> Outcome:
    delta = update.delta or 0
    answer = client.send_once("open.item.sku.stock.update", {
        "kwaiItemId": int(update.external_product_id), "skuId": int(update.external_variant_id),
        "skuChangeStock": abs(delta), "changeType": 1 if delta > 0 else 2},
        what=f"stock of sku {update.external_variant_id}")
    if answer.body is None:
        return Outcome(Sent.UNANSWERED, answer.why)
    result, message = answer.body.get("result"), str(answer.body.get("error_msg") or "")
    if result == 1:
        return Outcome(Sent.APPLIED)
    if result == RESERVED_STOCK:
        return Outcome(Sent.SHORT, f"{message} (result 21)")
    return Outcome(Sent.REFUSED, f"{message} (result {result})")


def set_stock(client: KuaishouClient, journal: DeltaJournal, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
    return guarded_deltas(updates, journal=journal, read_live=lambda batch: read_live(client, batch),
                          send=lambda update: send(client, update), where=client.where, platform="kuaishou")


def push_shipment(client: KuaishouClient, shipment: ShipmentPush, *, where: str) -> ShipmentResult:
    order_id = shipment.order_external_id
    detail = client.request("open.order.detail", {"oid": int(order_id)}, what=f"order {order_id}") or {}
    if shipment.tracking_number in tracking_numbers(detail):
        return ShipmentResult(shipment.tracking_number, already_present=True)
    ordered = int((detail.get("orderItemInfo") or {}).get("num") or 0)
    shipped = sum(quantity for _, quantity in shipment.lines)
    if shipment.lines and shipped < ordered:
        raise Rejected(where, f"快手 ships a whole order at once; this shipment covers {shipped} of {ordered} units")
    code = carrier_code(shipment.carrier, CARRIERS, where=where, platform="kuaishou")
    try:
        client.request("open.seller.order.goods.deliver", {"orderId": int(order_id), "expressCode": int(code),
                                                           "expressNo": shipment.tracking_number},
                       verb="POST", what=f"shipment of order {order_id}")
    except Rejected:  # a retry after a lost answer finds the order shipped: was it by us?
        again = client.request("open.order.detail", {"oid": int(order_id)}, what=f"order {order_id}") or {}
        if shipment.tracking_number not in tracking_numbers(again):
            raise
    return ShipmentResult(shipment.tracking_number)
