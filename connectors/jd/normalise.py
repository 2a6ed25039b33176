"""Pure: JOS payloads in, canonical records out (no I/O).

Money is CNY in yuan strings; times are `yyyy-MM-dd HH:mm:ss` GMT+8, turned into UTC. The
consignee comes masked (`fullname` `张**`) and only that mask is kept. JD refund applications
are money on an order without SKU lines, so they come in as refunds with an amount and no lines
(nothing is restocked on the hub's behalf).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import canonical
from canonical import AfterSaleKind, CanonicalError, Money, OrderStatus, ProductStatus

CHINA = timezone(timedelta(hours=8))
CURRENCY = "CNY"
LOCATION = "default"
STATES = {
    "WAIT_SELLER_STOCK_OUT": OrderStatus.OPEN, "WAIT_SELLER_DELIVERY": OrderStatus.OPEN,
    "LOCKED": OrderStatus.OPEN, "PAUSE": OrderStatus.OPEN, "WAIT_GOODS_RECEIVE_CONFIRM": OrderStatus.COMPLETED,
    "FINISHED_L": OrderStatus.COMPLETED, "TRADE_CANCELED": OrderStatus.CANCELLED,
}
APPROVED = {1, 3, 5, 6, 9}  # refund-apply statuses that mean the money goes back


def utc(value: Any, source: str, field: str) -> datetime:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA).astimezone(UTC)
    except ValueError:
        raise CanonicalError(source, field, f"is not a JOS time (yyyy-MM-dd HH:mm:ss), got {value!r:.40}") from None


def money(value: Any, source: str, field: str) -> Money:
    try:
        return Money.parse(str(value), CURRENCY)
    except (ValueError, ArithmeticError):
        raise CanonicalError(source, field, f"is not an amount in yuan, got {value!r:.40}") from None


def whole(value: Any, source: str, field: str) -> int:
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise CanonicalError(source, field, f"is not a whole number, got {value!r:.40}")
    return int(value)


@canonical.normaliser("listing")
def listing(ware: Mapping[str, Any], sku: Mapping[str, Any], *, account: str) -> canonical.Listing:
    source = f"jd ware {sku.get('wareId')} sku {sku.get('skuId')}"
    return canonical.build(canonical.Listing, {
        "account": account, "external_product_id": str(sku["wareId"]), "external_variant_id": str(sku["skuId"]),
        "sku": sku.get("outerId") or None, "barcode": sku.get("barCode") or None,
        "title": str(sku.get("skuName") or ""), "product_title": str(ware.get("title") or sku.get("wareTitle") or ""),
        "price": money(sku.get("jdPrice"), source, "jdPrice"), "tracked": True,
        "quantity": whole(sku.get("stockNum"), source, "stockNum"),
        "status": ProductStatus.ACTIVE if sku.get("status", 1) == 1 else ProductStatus.DRAFT,
        "updated_at": utc(sku["modified"], source, "modified") if sku.get("modified") else None,
    }, source=source)


@canonical.normaliser("product")
def product(ware: Mapping[str, Any], skus: Sequence[Mapping[str, Any]], *, account: str) -> canonical.Product:
    source = f"jd ware {ware.get('wareId')}"
    variants = []
    for sku in skus:
        where = f"{source} sku {sku.get('skuId')}"
        whole(sku.get("stockNum"), where, "stockNum")
        variants.append({"sku": sku.get("outerId") or None, "barcode": sku.get("barCode") or None,
                         "title": str(sku.get("skuName") or ""), "price": money(sku.get("jdPrice"), where, "jdPrice")})
    return canonical.build(canonical.Product, {
        "title": str(ware.get("title") or ""), "variants": tuple(variants),
        "updated_at": utc(ware["modified"], source, "modified") if ware.get("modified") else None,
    }, source=source)


def refund(raw: Mapping[str, Any]) -> canonical.Refund:
    source = f"jd refund apply {raw.get('id')}"
    return canonical.build(canonical.Refund, {
        "external_id": str(raw["id"]), "lines": (),
        "created_at": utc(raw.get("applyTime"), source, "applyTime") if raw.get("applyTime") else None,
        "amount": money(raw.get("applyRefundSum"), source, "applyRefundSum"), "reason": str(raw.get("reason") or ""),
        "kind": AfterSaleKind.REFUND_ONLY,  # money on the order; JD's refund applications carry no goods
    }, source=source)


@canonical.normaliser("order")
def order(raw: Mapping[str, Any], refunds: Sequence[canonical.Refund], *, account: str) -> canonical.Order:
    source = f"jd order {raw.get('orderId')}"
    state = str(raw.get("orderState") or "")
    if state not in STATES:
        raise CanonicalError(source, "orderState", f"is not an order state the hub knows, got {state!r:.30}")
    lines = tuple({"external_id": str(item.get("skuId")), "sku": item.get("outerSkuId") or None,
                   "external_variant_id": str(item.get("skuId")),
                   "quantity": whole(item.get("itemTotal"), source, "itemInfoList.itemTotal"),
                   "unit_price": money(item.get("jdPrice"), source, "itemInfoList.jdPrice"),
                   "title": str(item.get("skuName") or "")} for item in raw.get("itemInfoList") or [])
    consignee = raw.get("consigneeInfo") or {}
    return canonical.build(canonical.Order, {
        "account": account, "external_id": str(raw["orderId"]), "number": str(raw["orderId"]),
        "status": STATES[state], "currency": CURRENCY, "total": money(raw.get("orderPayment"), source, "orderPayment"),
        "lines": lines, "refunds": tuple(refunds),
        "customer": {"name": consignee.get("fullname") or None, "country": "CN"},
        "placed_at": utc(raw.get("orderStartTime"), source, "orderStartTime"),
        "updated_at": utc(raw.get("modified"), source, "modified"),
    }, source=source)
