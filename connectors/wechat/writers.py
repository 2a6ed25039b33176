"""微信小店 writes: delta stock guarded by the write journal, and deliveries exactly once.

`product/stock/update` with diff_type 1 (add) or 2 (subtract) takes no idempotency id (diff_type 3,
set, is the one the docs warn about under concurrency), so deltas go through
`connectors.liveshop.deltas.guarded_deltas`: live stock first (`product/stock/batchget`, 50
products a call), each delta once; a SKU updated too often (10020112) waits for its own bucket
and is sent again (that answer means nothing was applied); 10020219 is reconciled from a fresh read.
Deliveries look for their waybill on the order first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from connectors.base import ShipmentPush, ShipmentResult
from connectors.errors import RateLimited, Rejected
from connectors.liveshop.carriers import carrier_code
from connectors.liveshop.deltas import Live, Outcome, Sent, guarded_deltas
from connectors.liveshop.journal import DeltaJournal
from connectors.stock import StockUpdate, StockWriteResult
from connectors.waits import nap
from connectors.wechat.client import STOCK_FREQUENCY, STOCK_SHORT, WechatClient
from connectors.wechat.normalise import split_line_id, tracking_numbers

CARRIERS = {"sf": "SF", "yto": "YTO", "zto": "ZTO", "yunda": "YD", "sto": "STO", "jt": "JTSD", "ems": "EMS",
            "post": "YZPY", "jd": "JD", "deppon": "DBKD", "dhl": "DHL"}
BATCH_PRODUCTS = 50
FREQUENCY_TRIES = 3


def sku_bucket(sku_id: str) -> str:
    return f"product/stock/update:{sku_id}"


def read_live(client: WechatClient, updates: Sequence[StockUpdate]) -> Mapping[str, Live]:
    product_ids = sorted({u.external_product_id for u in updates})
    stock: dict[tuple[str, str], Live] = {}
    for start in range(0, len(product_ids), BATCH_PRODUCTS):
        chunk = product_ids[start:start + BATCH_PRODUCTS]
        answer = client.request("product/stock/batchget", {"product_id": chunk}, what=f"stock of {len(chunk)} products")
        for spu in (answer.get("data") or {}).get("spu_stock_list") or []:
            for sku in spu.get("sku_stock") or []:
                total = int(sku.get("total_stock_num") or 0)
                normal = int(sku.get("normal_stock_num") or total)
                stock[(str(spu.get("product_id")), str(sku.get("sku_id")))] = Live(total, max(total - normal, 0))
    found = {}
    for update in updates:
        live = stock.get((update.external_product_id, update.external_variant_id))
        if live is None:
            raise Rejected(client.where, f"product {update.external_product_id} has no sku "
                                         f"{update.external_variant_id} any more")
        found[update.listing_ref] = live
    return found


def send(client: WechatClient, update: StockUpdate) -> Outcome:
    delta = update.delta or 0
    body = {"product_id": update.external_product_id, "sku_id": update.external_variant_id,
            "diff_type": 1 if delta > 0 else 2, "num": abs(delta)}
    for attempt in range(1, FREQUENCY_TRIES + 1):
        client.budgets(sku_bucket(update.external_variant_id)).reserve(1)
        try:
            answer = client.send_once("product/stock/update", body, what=f"stock of sku {update.external_variant_id}")
        except RateLimited as limited:
            if limited.code != str(STOCK_FREQUENCY) or attempt == FREQUENCY_TRIES:
                raise
            # Nothing was applied: the SKU's window passes, send again.
            nap(limited.retry_after or 1.0, where=client.where)
            continue
        if answer.body is None:
            return Outcome(Sent.UNANSWERED, answer.why)
        errcode, message = int(answer.body.get("errcode") or 0), str(answer.body.get("errmsg") or "").split(" rid:")[0]
        if errcode == 0:
            return Outcome(Sent.APPLIED)
        if errcode == STOCK_SHORT:
            return Outcome(Sent.SHORT, f"{message} (errcode {errcode})")
        return Outcome(Sent.REFUSED, f"{message} (errcode {errcode})")
    raise AssertionError("unreachable")  # the loop returns or raises


def set_stock(client: WechatClient, journal: DeltaJournal, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
    return guarded_deltas(updates, journal=journal, read_live=lambda batch: read_live(client, batch),
                          send=lambda update: send(client, update), where=client.where, platform="wechat")


def push_shipment(client: WechatClient, shipment: ShipmentPush, *, where: str) -> ShipmentResult:
    order_id = shipment.order_external_id
    order = client.request("order/get", {"order_id": order_id}, what=f"order {order_id}").get("order") or {}
    if shipment.tracking_number in tracking_numbers(order):
        return ShipmentResult(shipment.tracking_number, already_present=True)
    if not shipment.lines:
        raise Rejected(where, f"a delivery of order {order_id} must name its lines")
    products = []
    for line, quantity in shipment.lines:
        product_id, sku_id = split_line_id(line)
        products.append({"product_id": product_id, "sku_id": sku_id, "product_cnt": quantity})
    delivery = {"delivery_id": carrier_code(shipment.carrier, CARRIERS, where=where, platform="wechat"),
                "waybill_id": shipment.tracking_number, "deliver_type": 1, "product_infos": products}
    try:
        client.request("order/delivery/send", {"order_id": order_id, "delivery_list": [delivery]},
                       what=f"delivery of order {order_id}")
    except Rejected:  # a retry after a lost answer finds the order delivered: was it by us?
        again = client.request("order/get", {"order_id": order_id}, what=f"order {order_id}").get("order") or {}
        if shipment.tracking_number not in tracking_numbers(again):
            raise
    return ShipmentResult(shipment.tracking_number)
