"""微信小店 payloads into canonical records (pure: no I/O).

A line has no id of its own on this platform: it is `product_id:sku_id`. After-sales come from
`aftersale/getaftersaleorder`; a succeeded one refunds its SKU's count (a RETURN restocks, a REFUND
does not). The address is masked by the platform and never read: the hub keeps only the country.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import canonical
from canonical import CanonicalError, OrderStatus, ProductStatus
from connectors.liveshop.values import CURRENCY, fen, from_seconds, ident, integer

LOCATION = "default"
STATUS = {10: OrderStatus.PENDING, 20: OrderStatus.OPEN, 21: OrderStatus.OPEN, 30: OrderStatus.COMPLETED,
          100: OrderStatus.COMPLETED, 200: OrderStatus.CANCELLED, 250: OrderStatus.CANCELLED}
REFUND_DONE = frozenset({"MERCHANT_REFUND_SUCCESS", "MERCHANT_RETURN_SUCCESS"})
ONLINE = 5  # product status 5: on sale


def source(kind: str, record_id: Any, *, account: str, parent: Any = None) -> str:
    return f"wechat account {account!r}, {kind} {record_id}" + (f" of product {parent}" if parent else "")


def line_id(product_id: Any, sku_id: Any) -> str:
    return f"{product_id}:{sku_id}"


def split_line_id(value: str) -> tuple[str, str]:
    product_id, _, sku_id = value.partition(":")
    return product_id, sku_id


@canonical.normaliser("listing")
def listing(product: Mapping[str, Any], sku: Mapping[str, Any], *, account: str) -> canonical.Listing:
    product_id = ident(product.get("product_id"), field="product_id", where=source("product", "?", account=account))
    sku_id = ident(sku.get("sku_id"), field="skus.sku_id", where=source("sku", "?", account=account, parent=product_id))
    where = source("sku", sku_id, account=account, parent=product_id)
    title = " / ".join(str(a.get("attr_value") or "") for a in sku.get("sku_attrs") or [] if isinstance(a, Mapping))
    return canonical.build(canonical.Listing, {
        "account": account, "external_product_id": product_id, "external_variant_id": sku_id,
        "sku": sku.get("sku_code") or None, "barcode": sku.get("barcode") or None, "title": title,
        "product_title": str(product.get("title") or ""),
        "price": fen(sku.get("sale_price"), field="skus.sale_price", where=where),
        "status": ProductStatus.ACTIVE if product.get("status") == ONLINE else ProductStatus.DRAFT,
        "quantity": integer(sku.get("stock_num"), field="skus.stock_num", where=where),
        "updated_at": from_seconds(product.get("update_time"), field="update_time", where=where)}, source=where)


@canonical.normaliser("product")
def product(raw: Mapping[str, Any], *, account: str) -> canonical.Product:
    product_id = ident(raw.get("product_id"), field="product_id", where=source("product", "?", account=account))
    where = source("product", product_id, account=account)
    variants = []
    for sku in raw.get("skus") or []:
        found = listing(raw, sku, account=account)
        variants.append(canonical.build(canonical.Variant, {
            "sku": found.sku, "barcode": found.barcode, "title": found.title, "price": found.price,
            "options": {"规格": found.title} if found.title else {}}, source=where))
    return canonical.build(canonical.Product, {
        "title": str(raw.get("title") or ""), "variants": tuple(variants),
        "status": ProductStatus.ACTIVE if raw.get("status") == ONLINE else ProductStatus.DRAFT,
        "updated_at": from_seconds(raw.get("update_time"), field="update_time", where=where)}, source=where)


def refund(raw: Mapping[str, Any], *, where: str) -> canonical.Refund | None:
    if raw.get("status") not in REFUND_DONE:
        return None
    info = raw.get("product_info") or {}
    return canonical.build(canonical.Refund, {
        "external_id": ident(raw.get("after_sale_order_id"), field="after_sale_order_id", where=where),
        "created_at": from_seconds(raw.get("create_time"), field="create_time", where=where),
        "lines": (canonical.RefundLine(line_external_id=line_id(info.get("product_id"), info.get("sku_id")),
                                       quantity=integer(info.get("count"), field="product_info.count", where=where),
                                       restock=raw.get("type") == "RETURN"),)}, source=where)


@canonical.normaliser("order")
def order(raw: Mapping[str, Any], aftersales: Iterable[Mapping[str, Any]] = (), *, account: str) -> canonical.Order:
    order_id = ident(raw.get("order_id"), field="order_id", where=source("order", "?", account=account))
    where = source("order", order_id, account=account)
    code = integer(raw.get("status"), field="status", where=where)
    if code not in STATUS:
        raise CanonicalError(where, "status", f"is {code}, which the connector does not know")
    detail = raw.get("order_detail") or {}
    lines = tuple(canonical.build(canonical.OrderLine, {
        "external_id": line_id(p.get("product_id"), p.get("sku_id")), "sku": p.get("sku_code") or None,
        "external_variant_id": str(p.get("sku_id") or ""),
        "quantity": integer(p.get("sku_cnt"), field="product_infos.sku_cnt", where=where),
        "unit_price": fen(p.get("sale_price"), field="product_infos.sale_price", where=where),
        "title": str(p.get("title") or "")}, source=where)
        for p in detail.get("product_infos") or [] if isinstance(p, Mapping))
    refunds = tuple(r for item in aftersales if (r := refund(item, where=where)) is not None)
    status = STATUS[code]
    refunded = sum(li.quantity for r in refunds for li in r.lines)
    if status is OrderStatus.COMPLETED and lines and refunded >= sum(li.quantity for li in lines):
        status = OrderStatus.REFUNDED
    price = detail.get("price_info") or {}
    return canonical.build(canonical.Order, {
        "account": account, "external_id": order_id, "number": order_id, "status": status, "currency": CURRENCY,
        "total": fen(price.get("order_price") or 0, field="price_info.order_price", where=where), "lines": lines,
        "refunds": refunds, "customer": canonical.Customer(country="CN"),
        "placed_at": from_seconds(raw.get("create_time"), field="create_time", where=where),
        "updated_at": from_seconds(raw.get("update_time"), field="update_time", where=where),
        "paid_at": paid_at(detail.get("pay_info"), where=where)}, source=where)


def paid_at(pay_info: Any, *, where: str) -> datetime | None:
    """`pay_info.pay_time` (seconds; 0 or absent while unpaid): a paid order's units stay off the
    channel's count even when it is cancelled (stock rolls back only for cancel-before-pay)."""
    raw = pay_info.get("pay_time") if isinstance(pay_info, Mapping) else None
    if raw is None or integer(raw, field="order_detail.pay_info.pay_time", where=where) == 0:
        return None
    return from_seconds(raw, field="order_detail.pay_info.pay_time", where=where)


def aftersale_ids(raw: Mapping[str, Any]) -> list[str]:
    listed = (raw.get("aftersale_detail") or {}).get("aftersale_order_list") or []
    return [str(a.get("aftersale_order_id")) for a in listed if isinstance(a, Mapping) and a.get("aftersale_order_id")]


def deliveries(raw: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    info = ((raw.get("order_detail") or {}).get("delivery_info") or {}).get("delivery_product_info") or []
    return [d for d in info if isinstance(d, Mapping)]


def tracking_numbers(raw: Mapping[str, Any]) -> set[str]:
    return {str(d.get("waybill_id")) for d in deliveries(raw)}
