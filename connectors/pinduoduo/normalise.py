"""Pure: PDD payloads in, canonical records out (no I/O).

Amounts are yuan as JSON numbers, turned into Decimal through their text (never via float
arithmetic); times are `yyyy-MM-dd HH:mm:ss` GMT+8 (UNIX seconds in requests), turned into UTC.
Receiver name, phone and address come as ciphertext plus `*_mask`; only the name's mask is kept
(`customer.name`) — the ciphertext is neither stored nor decrypted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import canonical
from canonical import AfterSaleKind, CanonicalError, Money, OrderStatus, ProductStatus

CHINA = timezone(timedelta(hours=8))
CURRENCY = "CNY"
LOCATION = "default"
ONLY_REFUND, RETURN_REFUND, EXCHANGE = 2, 3, 4
KINDS = {ONLY_REFUND: AfterSaleKind.REFUND_ONLY, RETURN_REFUND: AfterSaleKind.RETURN, EXCHANGE: AfterSaleKind.EXCHANGE}
REFUND_DONE = 10  # after_sales_status 退款成功


def utc(value: Any, source: str, field: str) -> datetime:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA).astimezone(UTC)
    except ValueError:
        raise CanonicalError(source, field, f"is not a PDD time (yyyy-MM-dd HH:mm:ss), got {value!r:.40}") from None


def money(value: Any, source: str, field: str) -> Money:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CanonicalError(source, field, f"is not an amount in yuan, got {value!r:.40}")
    try:
        return Money(amount=Decimal(str(value)), currency=CURRENCY)
    except (InvalidOperation, ValueError):
        raise CanonicalError(source, field, f"is not an amount in yuan, got {value!r:.40}") from None


def whole(value: Any, source: str, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CanonicalError(source, field, f"is not a whole number, got {value!r:.40}")
    return value


@canonical.normaliser("listing")
def listing(goods: Mapping[str, Any], sku: Mapping[str, Any], *, account: str) -> canonical.Listing:
    """`quantity` is `sku_quantity`, the number the hub writes: it includes units unpaid orders hold."""
    source = f"pinduoduo goods {goods.get('goods_id')} sku {sku.get('sku_id')}"
    quantity = whole(sku.get("sku_quantity"), source, "sku_quantity")
    whole(sku.get("reserve_quantity"), source, "reserve_quantity")
    return canonical.build(canonical.Listing, {
        "account": account, "external_product_id": str(goods["goods_id"]), "external_variant_id": str(sku["sku_id"]),
        "sku": sku.get("outer_id") or None, "title": str(sku.get("spec") or ""),
        "product_title": str(goods.get("goods_name") or ""), "tracked": True, "quantity": quantity,
        "status": ProductStatus.ACTIVE if goods.get("is_onsale", 1) == 1 else ProductStatus.DRAFT,
    }, source=source)


def stock_level(sku: Mapping[str, Any], listing: canonical.Listing) -> canonical.StockLevel:
    """On hand is `sku_quantity`, committed what unpaid orders hold, available what a buyer can buy."""
    quantity = listing.quantity or 0
    reserve = int(sku.get("reserve_quantity") or 0)
    return canonical.StockLevel(location_external_id=LOCATION, inventory_item_id=listing.external_variant_id,
                                sku=listing.sku, available=max(quantity - reserve, 0), on_hand=quantity,
                                committed=reserve)


@canonical.normaliser("product")
def product(goods: Mapping[str, Any], *, account: str) -> canonical.Product:
    source = f"pinduoduo goods {goods.get('goods_id')}"
    variants = []
    for sku in goods.get("sku_list") or []:
        whole(sku.get("sku_quantity"), f"{source} sku {sku.get('sku_id')}", "sku_quantity")
        variants.append({"sku": sku.get("outer_id") or None, "title": str(sku.get("spec") or "")})
    return canonical.build(canonical.Product, {
        "title": str(goods.get("goods_name") or ""), "variants": tuple(variants),
        "status": ProductStatus.ACTIVE if goods.get("is_onsale", 1) == 1 else ProductStatus.DRAFT,
    }, source=source)


def line_id(item: Mapping[str, Any]) -> str:
    """PDD order lines have no id of their own; a SKU appears once per order."""
    return str(item.get("sku_id"))


def refund(record: Mapping[str, Any], *, shipped: bool) -> canonical.Refund:
    """仅退款 before shipping and 退货退款 put stock back; 仅退款 after shipping does not."""
    source = f"pinduoduo after-sale {record.get('id')}"
    returned = record.get("after_sales_type") == RETURN_REFUND
    return canonical.build(canonical.Refund, {
        "external_id": str(record["id"]),
        "lines": ({"line_external_id": str(record.get("sku_id")),
                   "quantity": whole(record.get("goods_number"), source, "goods_number"),
                   "restock": returned or not shipped},),
        "created_at": utc(record.get("created_time"), source, "created_time"),
        "amount": money(record.get("refund_amount"), source, "refund_amount"),
        "reason": str(record.get("after_sale_reason") or ""),
        "kind": KINDS.get(int(record.get("after_sales_type") or 0)),
    }, source=source)


@canonical.normaliser("order")
def order(raw: Mapping[str, Any], refunds: Sequence[canonical.Refund], *, account: str) -> canonical.Order:
    source = f"pinduoduo order {raw.get('order_sn')}"
    shipped = raw.get("order_status") in (2, 3)
    if raw.get("order_status") not in (1, 2, 3):
        raise CanonicalError(source, "order_status", f"is not 1, 2 or 3, got {raw.get('order_status')!r:.20}")
    items = raw.get("item_list") or []
    counts = [whole(item.get("goods_count"), source, "item_list.goods_count") for item in items]
    lines = [{"external_id": line_id(item), "sku": item.get("outer_id") or None,
              "external_variant_id": str(item.get("sku_id")), "quantity": count,
              "unit_price": money(item.get("goods_price"), source, "item_list.goods_price"),
              "title": str(item.get("goods_name") or "")} for item, count in zip(items, counts, strict=True)]
    refunded = sum(line.quantity for refund in refunds for line in refund.lines)
    everything = refunded >= sum(counts) and raw.get("refund_status") == 4
    status = OrderStatus.COMPLETED if shipped else OrderStatus.OPEN
    if everything:
        status = OrderStatus.REFUNDED if shipped else OrderStatus.CANCELLED
    return canonical.build(canonical.Order, {
        "account": account, "external_id": str(raw["order_sn"]), "number": str(raw["order_sn"]), "status": status,
        "currency": CURRENCY, "total": money(raw.get("pay_amount"), source, "pay_amount"), "lines": tuple(lines),
        "refunds": tuple(refunds), "customer": {"name": raw.get("receiver_name_mask") or None, "country": "CN"},
        "placed_at": utc(raw.get("created_time"), source, "created_time"),
        "updated_at": utc(raw.get("updated_at"), source, "updated_at"),
    }, source=source)
