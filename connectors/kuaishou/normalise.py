"""快手 payloads into canonical records (pure: no I/O).

Items come from open.item.list.get with their SKUs; an order (one SKU each) from
open.order.cursor.list or open.order.detail, its refunds from open.seller.order.refund.detail.
The platform reports no refunded quantity for physical goods, so it is worked out from the
refunded amount: the whole line when the refund covers the order's total, else the units its
amount pays for (a refund of less than one unit, a price protection, moves no stock). Receiver
fields (`encrypted*`, `desensitise*`) are never read: the hub keeps only the country.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import canonical
from canonical import CanonicalError, OrderStatus, ProductStatus
from connectors.liveshop.values import CURRENCY, fen, from_millis, ident, integer

LOCATION = "default"
STATUS = {10: OrderStatus.PENDING, 30: OrderStatus.OPEN, 40: OrderStatus.COMPLETED, 50: OrderStatus.COMPLETED,
          70: OrderStatus.COMPLETED, 80: OrderStatus.CANCELLED}
REFUND_DONE = 60
RETURN = 1  # handlingWay 1 退货退款: the goods come back; 10 仅退款


def source(kind: str, record_id: Any, *, account: str, parent: Any = None) -> str:
    return f"kuaishou account {account!r}, {kind} {record_id}" + (f" of item {parent}" if parent else "")


def updated(item: Mapping[str, Any], sku: Mapping[str, Any], *, where: str) -> datetime:
    """The later of the item's and the SKU's update times (stock changes touch the SKU)."""
    stamps = [integer(v, field=f, where=where) for f, v in (("updateTime", item.get("updateTime")),
                                                           ("skuList.updateTime", sku.get("updateTime"))) if v]
    return from_millis(max(stamps, default=0), field="updateTime", where=where)


@canonical.normaliser("listing")
def listing(item: Mapping[str, Any], sku: Mapping[str, Any], *, account: str) -> canonical.Listing:
    item_id = ident(item.get("kwaiItemId"), field="kwaiItemId", where=source("item", "?", account=account))
    sku_id = ident(sku.get("kwaiSkuId"), field="kwaiSkuId", where=source("sku", "?", account=account, parent=item_id))
    where = source("sku", sku_id, account=account, parent=item_id)
    return canonical.build(canonical.Listing, {
        "account": account, "external_product_id": item_id, "external_variant_id": sku_id,
        "sku": sku.get("skuNick") or None, "barcode": sku.get("gtinCode") or None,
        "title": str(sku.get("specification") or ""), "product_title": str(item.get("title") or ""),
        "price": fen(sku.get("skuSalePrice"), field="skuSalePrice", where=where),
        "status": ProductStatus.ACTIVE if item.get("shelfStatus", 1) == 1 else ProductStatus.DRAFT,
        "quantity": integer(sku.get("skuStock"), field="skuStock", where=where),
        "updated_at": updated(item, sku, where=where)}, source=where)


@canonical.normaliser("product")
def product(item: Mapping[str, Any], *, account: str) -> canonical.Product:
    item_id = ident(item.get("kwaiItemId"), field="kwaiItemId", where=source("item", "?", account=account))
    where = source("item", item_id, account=account)
    variants = []
    for sku in item.get("skuList") or []:
        found = listing(item, sku, account=account)
        variants.append(canonical.build(canonical.Variant, {
            "sku": found.sku, "barcode": found.barcode, "title": found.title, "price": found.price,
            "options": {"规格": found.title} if found.title else {}}, source=where))
    return canonical.build(canonical.Product, {
        "title": str(item.get("title") or ""), "variants": tuple(variants),
        "status": ProductStatus.ACTIVE if item.get("shelfStatus", 1) == 1 else ProductStatus.DRAFT,
        "updated_at": from_millis(item.get("updateTime"), field="updateTime", where=where)}, source=where)


def refund(raw: Mapping[str, Any], line: canonical.OrderLine, total_fee: int, *, where: str) -> canonical.Refund | None:
    if raw.get("status") != REFUND_DONE:
        return None
    refund_id = ident(raw.get("refundId"), field="refundId", where=where)
    paid = integer(raw.get("refundFee"), field="refundFee", where=where)
    unit = int(line.unit_price.amount * 100) if line.unit_price else 0
    units = line.quantity if paid >= total_fee else (paid // unit if unit else 0)
    lines = (canonical.RefundLine(line_external_id=line.external_id, quantity=min(units, line.quantity),
                                  restock=raw.get("handlingWay") == RETURN),) if units else ()
    return canonical.build(canonical.Refund, {
        "external_id": refund_id, "lines": lines,
        "created_at": from_millis(raw.get("createTime"), field="createTime", where=where)}, source=where)


@canonical.normaliser("order")
def order(raw: Mapping[str, Any], refunds: Iterable[Mapping[str, Any]] = (), *, account: str) -> canonical.Order:
    base, item = raw.get("orderBaseInfo") or {}, raw.get("orderItemInfo") or {}
    order_id = ident(base.get("oid"), field="orderBaseInfo.oid", where=source("order", "?", account=account))
    where = source("order", order_id, account=account)
    code = integer(base.get("status"), field="orderBaseInfo.status", where=where)
    if code not in STATUS:
        raise CanonicalError(where, "orderBaseInfo.status", f"is {code}, which the connector does not know")
    quantity = integer(item.get("num"), field="orderItemInfo.num", where=where)
    line = canonical.build(canonical.OrderLine, {
        "external_id": str(item.get("orderItemId") or order_id), "sku": item.get("skuNick") or None,
        "external_variant_id": str(item.get("skuId") or ""), "quantity": quantity,
        "unit_price": fen(item.get("price"), field="orderItemInfo.price", where=where),
        "title": str(item.get("itemTitle") or "")}, source=where)
    total = integer(base.get("totalFee"), field="orderBaseInfo.totalFee", where=where)
    found = tuple(r for raw_refund in refunds if (r := refund(raw_refund, line, total, where=where)) is not None)
    status = STATUS[code]
    if status is OrderStatus.COMPLETED and sum(li.quantity for r in found for li in r.lines) >= quantity:
        status = OrderStatus.REFUNDED
    return canonical.build(canonical.Order, {
        "account": account, "external_id": order_id, "number": order_id, "status": status, "currency": CURRENCY,
        "total": fen(total, field="orderBaseInfo.totalFee", where=where), "lines": (line,), "refunds": found,
        "customer": canonical.Customer(country="CN"),
        "placed_at": from_millis(base.get("createTime"), field="orderBaseInfo.createTime", where=where),
        "updated_at": from_millis(base.get("updateTime"), field="orderBaseInfo.updateTime", where=where)},
        source=where)


def refund_ids(raw: Mapping[str, Any]) -> list[str]:
    return [str(r.get("refundId")) for r in raw.get("orderRefundList") or [] if isinstance(r, Mapping)
            and r.get("refundId")]


def tracking_numbers(raw: Mapping[str, Any]) -> set[str]:
    return {str(p.get("expressNo")) for p in raw.get("orderLogisticsInfo") or [] if isinstance(p, Mapping)}
