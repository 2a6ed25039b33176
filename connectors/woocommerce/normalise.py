"""WooCommerce REST v3 payloads → canonical records. Pure functions: payload in, record out, no I/O.

Decisions (see also the package docstring):
- Times: WooCommerce sends site-local `date_x` and UTC `date_x_gmt`, both without a zone; only
  the `_gmt` value is read, as UTC.
- Prices: `price` is what a buyer pays now. When the product is on sale, `regular_price` is the
  compare-at ("was") price; otherwise there is no compare-at price.
- Identity: a simple product is its own variant (variant id = product id); a variable product's
  variations are its variants. A record without a SKU is still a Listing (sku None), but not a
  canonical Variant: the hub cannot know which variant it is, so mapping raises a conflict.
- A value that cannot be converted raises `CanonicalError` naming the record and the field.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import canonical
from canonical import CanonicalError, Money, OrderStatus, ProductStatus

PLATFORM = "woocommerce"
DEFAULT_LOCATION = "default"

ORDER_STATUSES: dict[str, OrderStatus] = {
    "pending": OrderStatus.PENDING,          # awaiting payment
    "failed": OrderStatus.PENDING,           # payment failed; the buyer may still pay
    "checkout-draft": OrderStatus.PENDING,   # block checkout in progress
    "on-hold": OrderStatus.OPEN,             # awaiting manual payment confirmation, stock reduced
    "processing": OrderStatus.OPEN,
    "completed": OrderStatus.COMPLETED,
    "cancelled": OrderStatus.CANCELLED,
    "refunded": OrderStatus.REFUNDED,
}

PRODUCT_STATUSES: dict[str, ProductStatus] = {
    "publish": ProductStatus.ACTIVE,
    "draft": ProductStatus.DRAFT,
    "pending": ProductStatus.DRAFT,
    "future": ProductStatus.DRAFT,
    "private": ProductStatus.ARCHIVED,  # hidden from the shop but kept; a disabled variation
    "trash": ProductStatus.ARCHIVED,
}


def source(kind: str, record_id: Any, *, account: str | None = None, parent_id: Any = None) -> str:
    """How an error names a record: `woocommerce account 'eu', variation 732 of product 22`."""
    where = f"{PLATFORM} account {account!r}, " if account else f"{PLATFORM} "
    parent = f" of product {parent_id}" if parent_id not in (None, 0, "") else ""
    return f"{where}{kind} {record_id}{parent}"


# ---- field converters: each raises CanonicalError naming the field -----------------------------
def money(value: Any, currency: str, *, field: str, where: str) -> Money | None:
    """A price string ("19.99"), int or JSON float as Money; "" and None are no price."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        value = repr(value)  # JSON numbers: the shortest text that round-trips is what was sent
    try:
        return Money.parse(value, currency)
    except ValueError as exc:
        raise CanonicalError(where, field, f"is not a money amount (got {value!r:.40}): {exc}") from None


def integer(value: Any, *, field: str, where: str, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise CanonicalError(where, field, f"is not a whole number (got {value!r:.40})")
    try:
        return int(value)
    except ValueError:
        raise CanonicalError(where, field, f"is not a whole number (got {value!r:.40})") from None


def text(value: Any, *, field: str, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CanonicalError(where, field, f"is not text (got {type(value).__name__})")
    return value


def sku(value: Any, *, where: str) -> str | None:
    """The SKU, or None when the merchant left it empty."""
    cleaned = text(value, field="sku", where=where).strip()
    return cleaned or None


def barcode(value: Any, *, where: str) -> str | None:
    """`global_unique_id` (GTIN/UPC/EAN/ISBN) checked as a GTIN, or None when empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise CanonicalError(where, "global_unique_id", f"is not text (got {type(value).__name__})")
    try:
        return canonical.clean_barcode(value)
    except ValueError as exc:
        raise CanonicalError(where, "global_unique_id", str(exc)) from None


def gmt(raw: Mapping[str, Any], name: str, *, where: str, required: bool = True) -> datetime | None:
    """`{name}_gmt` as an aware UTC datetime."""
    field = f"{name}_gmt"
    value = raw.get(field)
    if value in (None, ""):
        if required:
            raise CanonicalError(where, field, "is missing")
        return None
    if not isinstance(value, str):
        raise CanonicalError(where, field, f"is not an ISO-8601 time (got {value!r:.40})")
    try:
        return canonical.utc_from_iso(value, assume_tz=UTC)
    except ValueError:
        raise CanonicalError(where, field, f"is not an ISO-8601 time (got {value!r:.40})") from None


def record_id(raw: Mapping[str, Any], kind: str, *, account: str | None = None) -> str:
    value = raw.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value) in ("", "0"):
        raise CanonicalError(source(kind, "?", account=account), "id", f"is missing or invalid ({value!r:.40})")
    return str(value)


# ---- catalogue -----------------------------------------------------------------------------------
def product_status(raw: Mapping[str, Any], *, where: str) -> ProductStatus:
    value = raw.get("status", "publish")
    try:
        return PRODUCT_STATUSES[str(value)]
    except (KeyError, TypeError):
        raise CanonicalError(where, "status", f"is not a known product status (got {value!r:.40})") from None


def prices(raw: Mapping[str, Any], currency: str, *, where: str) -> tuple[Money | None, Money | None]:
    """(price, compare_at_price): on sale, the regular price is the compare-at price."""
    regular = money(raw.get("regular_price"), currency, field="regular_price", where=where)
    current = money(raw.get("price"), currency, field="price", where=where) or regular
    on_sale = raw.get("on_sale") is True
    if on_sale and regular is not None and current is not None and current.amount < regular.amount:
        return current, regular
    return current, None


def options(raw: Mapping[str, Any], *, where: str) -> dict[str, str]:
    """A variation's attribute values, e.g. {"Color": "Black"}."""
    result: dict[str, str] = {}
    for index, attribute in enumerate(raw.get("attributes") or []):
        if not isinstance(attribute, Mapping) or "option" not in attribute:
            continue  # a parent's attribute definitions carry `options`, not one `option`
        name = text(attribute.get("name"), field=f"attributes[{index}].name", where=where)
        result[name] = text(attribute.get("option"), field=f"attributes[{index}].option", where=where)
    return result


def tracked(raw: Mapping[str, Any]) -> bool:
    """Stock is counted: `manage_stock` true, or "parent" for a variation that uses its parent's."""
    return raw.get("manage_stock") is True or raw.get("manage_stock") == "parent"


def quantity(raw: Mapping[str, Any], *, where: str) -> int | None:
    if not tracked(raw):
        return None
    return integer(raw.get("stock_quantity"), field="stock_quantity", where=where, optional=True)


def variant(raw: Mapping[str, Any], *, currency: str, where: str) -> canonical.Variant | None:
    """A simple product or a variation as a canonical Variant; None when it has no SKU."""
    code = sku(raw.get("sku"), where=where)
    price, compare_at = prices(raw, currency, where=where)
    found = barcode(raw.get("global_unique_id"), where=where)
    quantity(raw, where=where)  # a corrupt stock level fails here too, not later in listings
    if code is None:
        return None
    variant_options = options(raw, where=where)
    return canonical.build(canonical.Variant, {
        "sku": code, "barcode": found, "title": " / ".join(variant_options.values()),
        "options": variant_options, "price": price, "compare_at_price": compare_at, "tracked": tracked(raw),
    }, source=where)


@canonical.normaliser("product")
def product(raw: Mapping[str, Any], *, currency: str, variations: Sequence[Mapping[str, Any]] = (),
            account: str | None = None) -> canonical.Product:
    """A simple or variable product (with its variations) as a canonical Product.

    Variants without a SKU are left out (they still appear as listings).
    """
    where = source("product", record_id(raw, "product", account=account), account=account)
    kind = raw.get("type", "simple")
    if kind == "variable":
        found = [variant(v, currency=currency, where=source("variation", record_id(v, "variation"),
                                                              account=account, parent_id=raw.get("id")))
                 for v in variations]
    else:
        found = [variant(raw, currency=currency, where=where)]
    return canonical.build(canonical.Product, {
        "title": text(raw.get("name"), field="name", where=where),
        "description": text(raw.get("description"), field="description", where=where),
        "product_type": _first_category(raw),
        "tags": tuple(str(tag.get("name", "")) for tag in raw.get("tags") or [] if isinstance(tag, Mapping)),
        "status": product_status(raw, where=where),
        "variants": tuple(v for v in found if v is not None),
        "updated_at": gmt(raw, "date_modified", where=where, required=False),
    }, source=where)


def _first_category(raw: Mapping[str, Any]) -> str:
    categories = [c for c in raw.get("categories") or [] if isinstance(c, Mapping)]
    return str(categories[0].get("name", "")) if categories else ""


@canonical.normaliser("listing")
def listing(raw: Mapping[str, Any], *, account: str, currency: str,
            parent: Mapping[str, Any] | None = None, parent_id: Any = None) -> canonical.Listing:
    """A simple product (no parent) or a variation of `parent` as a canonical Listing.

    `external_product_id` is always the parent product's id; a simple product is its own variant.
    Pass `parent_id` for a variation when the parent payload is not at hand.
    """
    is_variation = parent is not None or parent_id is not None
    own_id = record_id(raw, "variation" if is_variation else "product", account=account)
    product_id = str(parent["id"]) if parent is not None else str(parent_id) if parent_id is not None else own_id
    where = source("variation" if is_variation else "product", own_id, account=account,
                   parent_id=product_id if is_variation else None)
    price, compare_at = prices(raw, currency, where=where)
    status = product_status(raw, where=where)
    if parent is not None and (parent_status := product_status(parent, where=where)) != ProductStatus.ACTIVE:
        status = parent_status  # a variation of a draft product is not for sale either
    variant_options = options(raw, where=where) if is_variation else {}
    title = " / ".join(variant_options.values()) if is_variation else text(raw.get("name"), field="name", where=where)
    product_title = text(parent.get("name"), field="name", where=where) if parent is not None else (
        "" if is_variation else title)
    return canonical.build(canonical.Listing, {
        "account": account, "external_product_id": product_id, "external_variant_id": own_id,
        "external_inventory_item_id": own_id, "sku": sku(raw.get("sku"), where=where),
        "barcode": barcode(raw.get("global_unique_id"), where=where), "title": title,
        "product_title": product_title, "price": price, "compare_at_price": compare_at, "status": status,
        "tracked": tracked(raw), "quantity": quantity(raw, where=where),
        "updated_at": gmt(raw, "date_modified", where=where, required=False),
    }, source=where)


def stock_level(item: canonical.Listing) -> canonical.StockLevel | None:
    """The stock level a listing shows at the store's one location; None when stock is not tracked."""
    if not item.tracked or item.quantity is None:
        return None
    return canonical.StockLevel(location_external_id=DEFAULT_LOCATION,
                                inventory_item_id=item.external_inventory_item_id or item.external_variant_id,
                                sku=item.sku, available=item.quantity, on_hand=item.quantity)


def location(name: str = "") -> canonical.Location:
    """WooCommerce core keeps one stock figure per item: one location for the whole store."""
    return canonical.Location(external_id=DEFAULT_LOCATION, name=name or "Default location")


# ---- orders ------------------------------------------------------------------------------------
def order_status(raw: Mapping[str, Any], *, where: str) -> OrderStatus:
    value = raw.get("status")
    try:
        return ORDER_STATUSES[str(value)]
    except (KeyError, TypeError):
        raise CanonicalError(where, "status", f"is not a WooCommerce order status the hub knows "
                                              f"(got {value!r:.40}); map it or change the order") from None


def order_line(raw: Mapping[str, Any], currency: str, *, where: str) -> canonical.OrderLine:
    line_id = record_id(raw, "line item")
    field = f"line_items[{line_id}]"
    count = integer(raw.get("quantity"), field=f"{field}.quantity", where=where)
    unit = money(raw.get("price"), currency, field=f"{field}.price", where=where)
    variation_id = integer(raw.get("variation_id", 0) or 0, field=f"{field}.variation_id", where=where)
    product_id = integer(raw.get("product_id", 0) or 0, field=f"{field}.product_id", where=where)
    variant_id = variation_id or product_id  # 0: the product was deleted since
    code = text(raw.get("sku"), field=f"{field}.sku", where=where).strip() or None
    title = html.unescape(text(raw.get("name"), field=f"{field}.name", where=where))
    try:
        return canonical.build(canonical.OrderLine, {
            "external_id": line_id, "sku": code, "external_variant_id": str(variant_id) if variant_id else None,
            "quantity": count, "unit_price": unit, "title": title,
        }, source=where)
    except CanonicalError as err:
        raise CanonicalError(where, f"{field}.{err.field}", err.problem) from None


def refund(raw: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], *, where: str,
           currency: str) -> canonical.Refund:
    """One refund from `GET orders/{id}/refunds`. WooCommerce does not report whether the refund put
    items back in stock, so refund lines carry `restock=False`: restocking is the hub's decision."""
    refund_id = record_id(raw, "refund")
    refund_lines = []
    for item in raw.get("line_items") or []:
        original = _refunded_line(item, lines)
        if original is None:
            continue
        count = integer(item.get("quantity"), field=f"refunds[{refund_id}].line_items.quantity", where=where)
        if count:
            refund_lines.append({"line_external_id": original, "quantity": abs(count or 0), "restock": False})
    amount = money(raw.get("amount"), currency, field=f"refunds[{refund_id}].amount", where=where)
    return canonical.build(canonical.Refund, {
        "external_id": refund_id, "lines": tuple(refund_lines),
        "created_at": gmt(raw, "date_created", where=where, required=False),
        "amount": _positive(amount), "reason": text(raw.get("reason"), field="reason", where=where)[:500],
    }, source=where)


def summary_refund(raw: Mapping[str, Any], *, where: str, currency: str) -> canonical.Refund:
    """An entry of an order's `refunds` summary: id, reason and `total` (negative), no lines."""
    refund_id = record_id(raw, "refund")
    total = money(raw.get("total"), currency, field=f"refunds[{refund_id}].total", where=where)
    return canonical.build(canonical.Refund, {
        "external_id": refund_id, "amount": _positive(total),
        "reason": text(raw.get("reason"), field="reason", where=where)[:500],
    }, source=where)


def _positive(amount: Money | None) -> Money | None:
    """Refund amounts as money given back (the order summary lists them negative)."""
    return None if amount is None else Money(amount=abs(amount.amount), currency=amount.currency)


def _refunded_line(item: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> str | None:
    """The order line a refund line undoes: `_refunded_item_id` meta, else the same product/variation."""
    for meta in item.get("meta_data") or []:
        if isinstance(meta, Mapping) and meta.get("key") == "_refunded_item_id" and meta.get("value"):
            return str(meta["value"])
    for line in lines:
        if (line.get("product_id"), line.get("variation_id")) == (item.get("product_id"), item.get("variation_id")):
            return str(line.get("id"))
    return None


@canonical.normaliser("order")
def order(raw: Mapping[str, Any], *, account: str, currency: str,
          refunds: Iterable[Mapping[str, Any]] = ()) -> canonical.Order:
    """An order (and its detailed refunds, if fetched) as a canonical Order.

    Money is in the order's own currency (a multi-currency plugin can differ from the store's).
    Without detailed refunds, each entry of the order's `refunds` summary becomes a refund without lines.
    """
    order_id = record_id(raw, "order", account=account)
    where = source("order", order_id, account=account)
    order_currency = text(raw.get("currency"), field="currency", where=where) or currency
    lines = [line for line in raw.get("line_items") or [] if isinstance(line, Mapping)]
    detailed = list(refunds)
    if detailed:
        found = [refund(r, lines, where=where, currency=order_currency) for r in detailed]
    else:
        found = [summary_refund(r, where=where, currency=order_currency) for r in raw.get("refunds") or []
                 if isinstance(r, Mapping)]
    billing = raw.get("billing")
    return canonical.build(canonical.Order, {
        "account": account, "external_id": order_id, "number": str(raw.get("number") or order_id),
        "status": order_status(raw, where=where), "currency": order_currency,
        "total": money(raw.get("total"), order_currency, field="total", where=where),
        "lines": tuple(order_line(line, order_currency, where=where) for line in lines),
        "refunds": tuple(found),
        "customer": _customer(billing if isinstance(billing, Mapping) else {}, raw.get("customer_id")),
        "placed_at": gmt(raw, "date_created", where=where),
        "updated_at": gmt(raw, "date_modified", where=where),
    }, source=where)


def _customer(billing: Mapping[str, Any], customer_id: Any) -> canonical.Customer:
    """Name, email, country and the store's customer id (0 = a guest): the least the hub needs."""
    name = " ".join(str(billing.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    buyer = str(customer_id) if isinstance(customer_id, int | str) and str(customer_id) not in ("", "0") else None
    return canonical.Customer(name=name or None, email=str(billing.get("email") or "") or None,
                              country=str(billing.get("country") or "") or None, buyer_id=buyer)


def money_amount(value: Money | Decimal | None) -> str:
    """A price as WooCommerce writes it: a plain decimal string, "" for none."""
    if value is None:
        return ""
    amount = value.amount if isinstance(value, Money) else value
    return format(amount, "f")


# ---- shipments (Shipment Tracking extension) -----------------------------------------------------
def shipped_at(value: Any, *, where: str) -> datetime | None:
    """`date_shipped`: a Unix timestamp or a `YYYY-MM-DD` date (read as midnight UTC), None when empty."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return datetime.fromtimestamp(int(value), tz=UTC)
        if isinstance(value, str):
            return datetime.fromisoformat(value[:10]).replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        pass
    raise CanonicalError(where, "date_shipped", f"is neither a date nor a timestamp (got {value!r:.40})")


def shipment(order_raw: Mapping[str, Any], tracking: Mapping[str, Any], *, account: str) -> canonical.Shipment:
    """One Shipment Tracking entry of an order, covering every line of the order in full: the
    extension records no lines or quantities. `order_reference` is the order's `number`."""
    order_id = record_id(order_raw, "order", account=account)
    where = source("order", order_id, account=account) + f", tracking {tracking.get('tracking_id')}"
    number = text(tracking.get("tracking_number"), field="tracking_number", where=where).strip()
    if not number:
        raise CanonicalError(where, "tracking_number", "is missing")
    lines = []
    for line in order_raw.get("line_items") or []:
        if not isinstance(line, Mapping):
            continue
        field = f"line_items[{line.get('id')}]"
        count = integer(line.get("quantity"), field=f"{field}.quantity", where=where)
        if count:
            lines.append({"order_line_external_id": record_id(line, "line item"), "quantity": count,
                          "sku": text(line.get("sku"), field=f"{field}.sku", where=where).strip() or None})
    return canonical.build(canonical.Shipment, {
        "order_external_id": order_id, "order_reference": str(order_raw.get("number") or order_id),
        "carrier": text(tracking.get("tracking_provider"), field="tracking_provider", where=where).strip(),
        "tracking_number": number, "tracking_url": tracking.get("tracking_link") or None,
        "lines": tuple(lines), "shipped_at": shipped_at(tracking.get("date_shipped"), where=where),
    }, source=where)
