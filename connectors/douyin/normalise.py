"""抖店 payloads into canonical records (pure: no I/O).

Products come from product.listV2 with their SKUs from sku.list; orders from order.searchList or
order.orderDetail with their after-sales from afterSale.List. Receiver fields (`encrypt_post_*`,
`mask_post_*`) are never read: the hub keeps only the country.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import canonical
from canonical import CanonicalError, OrderStatus, ProductStatus
from connectors.liveshop.values import CURRENCY, fen, from_seconds, ident, integer

LOCATION = "default"
# order_status: 1 待支付, 105 已支付, 2 待发货, 101 部分发货, 3 已发货, 5 已完成, 4 已取消
STATUS = {1: OrderStatus.PENDING, 105: OrderStatus.OPEN, 2: OrderStatus.OPEN, 101: OrderStatus.OPEN,
          3: OrderStatus.COMPLETED, 5: OrderStatus.COMPLETED, 4: OrderStatus.CANCELLED}
REFUND_DONE = 12          # standard_aftersale_status 售后成功
RETURNS = frozenset({0})  # aftersale_type 0 退货退款: the goods come back


def source(kind: str, record_id: Any, *, account: str, parent: Any = None) -> str:
    return f"douyin account {account!r}, {kind} {record_id}" + (f" of product {parent}" if parent else "")


def _product_status(raw: Mapping[str, Any]) -> ProductStatus:
    return ProductStatus.ACTIVE if raw.get("status") == 0 and raw.get("check_status", 3) == 3 else ProductStatus.DRAFT


@canonical.normaliser("listing")
def listing(product: Mapping[str, Any], sku: Mapping[str, Any], *, account: str) -> canonical.Listing:
    product_id = ident(product.get("product_id"), field="product_id", where=source("product", "?", account=account))
    sku_id = ident(sku.get("id"), field="id", where=source("sku", "?", account=account, parent=product_id))
    where = source("sku", sku_id, account=account, parent=product_id)
    options = [str(sku.get(f"spec_detail_name{i}") or "") for i in (1, 2, 3)]
    return canonical.build(canonical.Listing, {
        "account": account, "external_product_id": product_id, "external_variant_id": sku_id,
        "sku": sku.get("code") or None, "barcode": (sku.get("customs_report_info") or {}).get("bar_code") or None,
        "title": " / ".join(o for o in options if o), "product_title": str(product.get("name") or ""),
        "price": fen(sku.get("price"), field="price", where=where), "status": _product_status(product),
        "quantity": integer(sku.get("stock_num"), field="stock_num", where=where),
        "updated_at": from_seconds(product.get("update_time"), field="update_time", where=where),
    }, source=where)


@canonical.normaliser("product")
def product(raw: Mapping[str, Any], skus: Iterable[Mapping[str, Any]], *, account: str) -> canonical.Product:
    product_id = ident(raw.get("product_id"), field="product_id", where=source("product", "?", account=account))
    where = source("product", product_id, account=account)
    variants = []
    for sku in skus:
        item = listing(raw, sku, account=account)
        variants.append(canonical.build(canonical.Variant, {
            "sku": item.sku, "barcode": item.barcode, "title": item.title,
            "options": {"规格": item.title} if item.title else {}, "price": item.price}, source=where))
    return canonical.build(canonical.Product, {
        "title": str(raw.get("name") or ""), "status": _product_status(raw), "variants": tuple(variants),
        "updated_at": from_seconds(raw.get("update_time"), field="update_time", where=where)}, source=where)


def _line(raw: Mapping[str, Any], *, where: str) -> canonical.OrderLine:
    line_id = ident(raw.get("order_id"), field="sku_order_list.order_id", where=where)
    quantity = integer(raw.get("item_num"), field="sku_order_list.item_num", where=where)
    unit = integer(raw.get("origin_amount"), field="sku_order_list.origin_amount", where=where) // max(quantity, 1)
    return canonical.build(canonical.OrderLine, {
        "external_id": line_id, "sku": raw.get("code") or None, "external_variant_id": str(raw.get("sku_id") or ""),
        "quantity": quantity, "unit_price": fen(unit, field="origin_amount", where=where),
        "title": str(raw.get("product_name") or ""),
        "cancelled_quantity": quantity if raw.get("order_status") == 4 else 0}, source=where)


def refund(item: Mapping[str, Any], *, where: str) -> canonical.Refund | None:
    """A succeeded after-sale as a refund of its sub-order (returns restock; refunds-only do not)."""
    info = item.get("aftersale_info") or {}
    if info.get("aftersale_status") != REFUND_DONE:
        return None
    aftersale_id = ident(info.get("aftersale_id"), field="aftersale_info.aftersale_id", where=where)
    quantity = integer(info.get("aftersale_num"), field="aftersale_info.aftersale_num", where=where)
    line_id = ident(info.get("related_id"), field="aftersale_info.related_id", where=where)
    return canonical.build(canonical.Refund, {
        "external_id": aftersale_id, "created_at": from_seconds(info.get("create_time"), field="create_time",
                                                                where=where),
        "lines": (canonical.RefundLine(line_external_id=line_id, quantity=quantity,
                                       restock=info.get("aftersale_type") in RETURNS),)}, source=where)


@canonical.normaliser("order")
def order(raw: Mapping[str, Any], aftersales: Iterable[Mapping[str, Any]] = (), *, account: str) -> canonical.Order:
    order_id = ident(raw.get("order_id"), field="order_id", where=source("order", "?", account=account))
    where = source("order", order_id, account=account)
    code = integer(raw.get("order_status"), field="order_status", where=where)
    if code not in STATUS:
        raise CanonicalError(where, "order_status", f"is {code}, which the connector does not know")
    lines = tuple(_line(line, where=where) for line in raw.get("sku_order_list") or [] if isinstance(line, Mapping))
    refunds = tuple(r for item in aftersales if (r := refund(item, where=where)) is not None)
    status = STATUS[code]
    if status is OrderStatus.COMPLETED and lines and _all_refunded(lines, refunds):
        status = OrderStatus.REFUNDED
    return canonical.build(canonical.Order, {
        "account": account, "external_id": order_id, "number": order_id, "status": status, "currency": CURRENCY,
        "total": fen(raw.get("order_amount"), field="order_amount", where=where), "lines": lines,
        "refunds": refunds, "customer": canonical.Customer(country="CN"),
        "placed_at": from_seconds(raw.get("create_time"), field="create_time", where=where),
        "updated_at": from_seconds(raw.get("update_time"), field="update_time", where=where)}, source=where)


def _all_refunded(lines: tuple[canonical.OrderLine, ...], refunds: tuple[canonical.Refund, ...]) -> bool:
    refunded: dict[str, int] = {}
    for item in (line for r in refunds for line in r.lines):
        refunded[item.line_external_id] = refunded.get(item.line_external_id, 0) + item.quantity
    return all(refunded.get(line.external_id, 0) >= line.quantity for line in lines)


def needs_aftersales(raw: Mapping[str, Any]) -> bool:
    """Whether any sub-order of the order has an after-sale (worth one afterSale.List call)."""
    return any((line.get("after_sale_info") or {}).get("after_sale_status") for line in raw.get("sku_order_list") or []
               if isinstance(line, Mapping))


def tracking_numbers(raw: Mapping[str, Any]) -> set[str]:
    return {str(p.get("tracking_no")) for p in raw.get("logistics_info") or [] if isinstance(p, Mapping)}
