"""Pure: TOP payloads in, canonical records out (no I/O).

Money is CNY in yuan strings; times are `yyyy-MM-dd HH:mm:ss` GMT+8, turned into UTC. The
receiver arrives desensitised from TOP (name `王**`, mobile `*******1234`) and only that mask
is kept: the hub never asks for or stores the plain values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import canonical
from canonical import AfterSaleKind, CanonicalError, Money, OrderStatus, ProductStatus

CHINA = timezone(timedelta(hours=8))
CURRENCY = "CNY"
LOCATION = "default"  # Taobao keeps one stock figure per SKU

STATUS = {
    "TRADE_NO_CREATE_PAY": OrderStatus.PENDING, "WAIT_BUYER_PAY": OrderStatus.PENDING,
    "PAY_PENDING": OrderStatus.PENDING, "WAIT_PRE_AUTH_CONFIRM": OrderStatus.PENDING,
    "WAIT_SELLER_SEND_GOODS": OrderStatus.OPEN, "SELLER_CONSIGNED_PART": OrderStatus.OPEN,
    "PAID_FORBID_CONSIGN": OrderStatus.OPEN, "WAIT_BUYER_CONFIRM_GOODS": OrderStatus.COMPLETED,
    "TRADE_BUYER_SIGNED": OrderStatus.COMPLETED, "TRADE_FINISHED": OrderStatus.COMPLETED,
    "TRADE_CLOSED": OrderStatus.CANCELLED, "TRADE_CLOSED_BY_TAOBAO": OrderStatus.CANCELLED,
}
CLOSED = {"TRADE_CLOSED", "TRADE_CLOSED_BY_TAOBAO"}


def utc(value: Any, source: str, field: str) -> datetime:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA).astimezone(UTC)
    except ValueError:
        raise CanonicalError(source, field, f"is not a TOP time (yyyy-MM-dd HH:mm:ss), got {value!r:.40}") from None


def money(value: Any, source: str, field: str) -> Money:
    try:
        return Money.parse(str(value), CURRENCY)
    except (ValueError, ArithmeticError):
        raise CanonicalError(source, field, f"is not an amount in yuan, got {value!r:.40}") from None


def whole(value: Any, source: str, field: str) -> int:
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise CanonicalError(source, field, f"is not a whole number, got {value!r:.40}")
    return int(value)


def option_of(properties_name: str) -> str:
    """`20509:1:尺码:S;1627207:2:颜色:红` -> `尺码:S / 颜色:红`."""
    parts = [p.split(":") for p in properties_name.split(";") if p]
    return " / ".join(f"{p[2]}:{p[3]}" for p in parts if len(p) >= 4)


@canonical.normaliser("listing")
def listing(item: Mapping[str, Any], sku: Mapping[str, Any], *, account: str) -> canonical.Listing:
    source = f"taobao item {item.get('num_iid')} sku {sku.get('sku_id')}"
    modified = sku.get("modified") or item.get("modified")
    return canonical.build(canonical.Listing, {
        "account": account, "external_product_id": str(item["num_iid"]), "external_variant_id": str(sku["sku_id"]),
        "sku": sku.get("outer_id") or None, "barcode": sku.get("barcode") or None,
        "title": option_of(str(sku.get("properties_name") or "")), "product_title": str(item.get("title") or ""),
        "price": money(sku.get("price"), source, "price"), "tracked": True,
        "quantity": whole(sku.get("quantity"), source, "quantity"),
        "updated_at": utc(modified, source, "modified") if modified else None,
    }, source=source)


@canonical.normaliser("product")
def product(item: Mapping[str, Any], skus: Sequence[Mapping[str, Any]], *, account: str) -> canonical.Product:
    source = f"taobao item {item.get('num_iid')}"
    variants = []
    for sku in skus:
        where = f"{source} sku {sku.get('sku_id')}"
        whole(sku.get("quantity"), where, "quantity")
        variants.append({"sku": sku.get("outer_id") or None, "barcode": sku.get("barcode") or None,
                         "title": option_of(str(sku.get("properties_name") or "")),
                         "price": money(sku.get("price"), where, "price")})
    return canonical.build(canonical.Product, {
        "title": str(item.get("title") or ""), "variants": tuple(variants),
        "status": ProductStatus.ACTIVE if item.get("approve_status", "onsale") == "onsale" else ProductStatus.DRAFT,
        "updated_at": utc(item["modified"], source, "modified") if item.get("modified") else None,
    }, source=source)


def _line(order: Mapping[str, Any], source: str) -> dict[str, Any]:
    closed_unsent = order.get("status") in CLOSED and not order.get("invoice_no")
    refunded = order.get("refund_status") not in (None, "NO_REFUND", "CLOSED", "SELLER_REFUSE_BUYER")
    quantity = whole(order.get("num"), source, "orders.num")
    return {"external_id": str(order["oid"]), "sku": order.get("outer_sku_id") or None,
            "external_variant_id": str(order["sku_id"]) if order.get("sku_id") else None,
            "quantity": quantity, "cancelled_quantity": quantity if closed_unsent and not refunded else 0,
            "unit_price": money(order.get("price"), source, "orders.price"), "title": str(order.get("title") or "")}


@canonical.normaliser("order")
def order(trade: Mapping[str, Any], refunds: Sequence[canonical.Refund], *, account: str) -> canonical.Order:
    source = f"taobao trade {trade.get('tid')}"
    raw_status = str(trade.get("status") or "")
    if raw_status not in STATUS:
        raise CanonicalError(source, "status", f"is not a trade status the hub knows, got {raw_status!r}")
    lines = [_line(o, source) for o in (trade.get("orders") or {}).get("order", [])]
    status = STATUS[raw_status]
    every_unit = sum(line["quantity"] for line in lines)
    if status is OrderStatus.CANCELLED and refunds and sum(r.quantity for f in refunds for r in f.lines) >= every_unit:
        status = OrderStatus.REFUNDED
    return canonical.build(canonical.Order, {
        "account": account, "external_id": str(trade["tid"]), "number": str(trade["tid"]), "status": status,
        "currency": CURRENCY, "total": money(trade.get("payment"), source, "payment"), "lines": tuple(lines),
        "refunds": tuple(refunds),
        "customer": {"name": trade.get("receiver_name") or None, "country": "CN",
                     "buyer_id": trade.get("buyer_open_uid") or None},
        "placed_at": utc(trade.get("created"), source, "created"),
        "updated_at": utc(trade.get("modified"), source, "modified"),
    }, source=source)


def refund(raw: Mapping[str, Any], *, shipped: bool) -> canonical.Refund:
    """A TOP refund of one sub-order: restocked when nothing had shipped or the goods came back."""
    source = f"taobao refund {raw.get('refund_id')}"
    returned = raw.get("good_status") == "BUYER_RETURNED_GOODS"
    return canonical.build(canonical.Refund, {
        "external_id": str(raw["refund_id"]),
        "lines": ({"line_external_id": str(raw["oid"]), "quantity": whole(raw.get("num"), source, "num"),
                   "restock": not shipped or returned},),
        "created_at": utc(raw.get("created"), source, "created") if raw.get("created") else None,
        "amount": money(raw.get("refund_fee"), source, "refund_fee"), "reason": str(raw.get("reason") or ""),
        "kind": AfterSaleKind.RETURN if returned else AfterSaleKind.REFUND_ONLY,
    }, source=source)
