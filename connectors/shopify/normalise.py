"""Pure functions between Shopify GraphQL payloads and the canonical model. No I/O.

A record that cannot be normalised raises `canonical.CanonicalError` naming the record's
global id and the field; the connector `skip()`s it and the page goes on.

Order mapping (Shopify → canonical), first match wins:

- `cancelledAt` set → CANCELLED;
- `displayFinancialStatus` REFUNDED → REFUNDED;
- `displayFulfillmentStatus` FULFILLED → COMPLETED;
- anything else → OPEN, including unpaid (PENDING, AUTHORIZED, EXPIRED) orders: Shopify
  commits stock for an order when it is placed, whatever its payment state, so the hub must
  count it too. canonical PENDING (no stock effect) is never produced by this connector.

Refund lines: `restock` is true for RETURN and LEGACY_RESTOCK (goods back on hand). CANCEL
(unshipped units put back) is not a restock of on-hand stock; those units are reported as the
order line's `cancelled_quantity`, which releases the commitment instead. NO_RESTOCK is neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import canonical
from canonical import CanonicalError, Money, OrderStatus, ProductStatus
from canonical.quantities import MAX_QUANTITY

T = TypeVar("T")
Raw = Mapping[str, Any]

PRODUCT_STATUS = {"ACTIVE": ProductStatus.ACTIVE, "DRAFT": ProductStatus.DRAFT,
                  "ARCHIVED": ProductStatus.ARCHIVED, "UNLISTED": ProductStatus.ACTIVE}
SHOPIFY_STATUS = {ProductStatus.ACTIVE: "ACTIVE", ProductStatus.DRAFT: "DRAFT",
                  ProductStatus.ARCHIVED: "ARCHIVED"}
RESTOCK_TYPES = frozenset({"RETURN", "LEGACY_RESTOCK"})


def converted(source: str, field: str, convert: Callable[..., T], *args: Any) -> T:
    """`convert(*args)`, or a CanonicalError naming `source` and `field`."""
    try:
        return convert(*args)
    except (ValueError, TypeError, ArithmeticError) as exc:
        # First line only: a pydantic error goes on with the input value, which may be customer data.
        raise CanonicalError(source, field, f"is invalid: {str(exc).splitlines()[0][:200]}") from None


def money(source: str, field: str, amount: Any, currency: str) -> Money | None:
    if amount is None:
        return None
    return converted(source, field, Money.parse, amount, currency)


def time(source: str, field: str, value: Any) -> Any:
    return None if value is None else converted(source, field, canonical.utc_from_iso, value)


def blank_to_none(value: Any) -> Any:
    return None if value == "" else value


def location(raw: Raw) -> canonical.Location:
    source = str(raw.get("id"))
    return canonical.build(canonical.Location, {"external_id": raw["id"], "name": raw.get("name") or "",
                                                "active": raw.get("isActive") is not False}, source=source)


def variant(raw: Raw, *, currency: str) -> canonical.Variant:
    source = str(raw.get("id"))
    options = {o["name"]: o["value"] for o in raw.get("selectedOptions") or []}
    return canonical.build(canonical.Variant, {
        "sku": raw.get("sku"),
        "barcode": blank_to_none(raw.get("barcode")),
        "title": raw.get("title") or "",
        "options": options,
        "price": money(source, "price", raw.get("price"), currency),
        "compare_at_price": money(source, "compare_at_price", raw.get("compareAtPrice"), currency),
        "tracked": (raw.get("inventoryItem") or {}).get("tracked") is not False,
    }, source=f"variant {source}")


@canonical.normaliser("product")
def product(raw: Raw, variants: Iterable[Raw], *, currency: str) -> canonical.Product:
    """A product with its variants; one bad variant makes the whole product a skipped record."""
    return product_of(raw, tuple(variant(v, currency=currency) for v in variants))


@canonical.normaliser("product")
def product_of(raw: Raw, variants: tuple[canonical.Variant, ...]) -> canonical.Product:
    """A product with its variants already normalised (`variant`), so none is read twice."""
    source = str(raw.get("id"))
    return canonical.build(canonical.Product, {
        "title": raw.get("title"),
        "description": raw.get("descriptionHtml") or "",
        "vendor": raw.get("vendor") or "",
        "product_type": raw.get("productType") or "",
        "tags": tuple(raw.get("tags") or ()),
        "status": product_status(source, raw.get("status")),
        "variants": variants,
        "updated_at": time(source, "updated_at", raw.get("updatedAt")),
    }, source=f"product {source}")


def product_status(source: str, value: Any) -> ProductStatus:
    try:
        return PRODUCT_STATUS[str(value)]
    except KeyError:
        raise CanonicalError(f"product {source}", "status", f"is unknown: {value!r}") from None


def available(quantities: Iterable[Raw] | None, name: str = "available") -> int | None:
    for quantity in quantities or ():
        if quantity.get("name") == name:
            return int(quantity["quantity"])
    return None


@canonical.normaliser("listing")
def listing(raw: Raw, *, account: str, currency: str) -> canonical.Listing:
    """One variant as the account's listing; `quantity` is `available` at the stock location."""
    source = f"variant {raw.get('id')}"
    parent = raw.get("product") or {}
    item = raw.get("inventoryItem") or {}
    level = item.get("inventoryLevel") or {}
    return canonical.build(canonical.Listing, {
        "account": account,
        "external_product_id": parent.get("id"),
        "external_variant_id": raw.get("id"),
        "external_inventory_item_id": item.get("id"),
        "sku": raw.get("sku"),
        "barcode": blank_to_none(raw.get("barcode")),
        "title": raw.get("title") or "",
        "product_title": parent.get("title") or "",
        "price": money(source, "price", raw.get("price"), currency),
        "compare_at_price": money(source, "compare_at_price", raw.get("compareAtPrice"), currency),
        "status": product_status(str(parent.get("id")), parent.get("status")),
        "tracked": item.get("tracked") is not False,
        "quantity": available(level.get("quantities")),
        "updated_at": time(source, "updated_at", raw.get("updatedAt")),
    }, source=source)


@canonical.normaliser("listing")
def listing_of(raw: Raw, product: Raw, variant: canonical.Variant | None, *, account: str,
               currency: str) -> canonical.Listing:
    """The listing of variant `raw` read with its `product` (the catalogue's one bulk read).

    When the variant normalised (`variant`), its SKU, barcode, title, prices and tracking are the
    listing's, already cleaned and checked from the same fields: only what the listing adds is
    checked here and the record is not validated again (a second pydantic pass and two more price
    parses per variant). Otherwise it is `listing` of the variant with its product."""
    if variant is None:
        return listing({**raw, "product": product}, account=account, currency=currency)
    source = f"variant {raw.get('id')}"
    item = raw.get("inventoryItem") or {}
    quantity = available((item.get("inventoryLevel") or {}).get("quantities"))
    if quantity is not None and not -MAX_QUANTITY <= quantity <= MAX_QUANTITY:
        raise CanonicalError(source, "quantity", f"is out of range (at most {MAX_QUANTITY:,} either way)")
    return canonical.Listing.model_construct(
        account=account, external_product_id=_text(source, "external_product_id", product.get("id")),
        external_variant_id=_text(source, "external_variant_id", raw.get("id")),
        external_inventory_item_id=_text(source, "external_inventory_item_id", item.get("id"), optional=True),
        sku=variant.sku, barcode=variant.barcode, title=variant.title,
        product_title=_text(source, "product_title", product.get("title") or ""),
        price=variant.price, compare_at_price=variant.compare_at_price,
        status=product_status(str(product.get("id")), product.get("status")), tracked=variant.tracked,
        quantity=quantity, updated_at=time(source, "updated_at", raw.get("updatedAt")))


def _text(source: str, field: str, value: Any, *, optional: bool = False) -> Any:
    if isinstance(value, str) or (optional and value is None):
        return value
    raise CanonicalError(source, field, f"is invalid: expected text, got {type(value).__name__}")


def stock_level(raw: Raw, *, location_id: str) -> canonical.StockLevel:
    item = raw.get("item") or {}
    quantities = raw.get("quantities")
    return canonical.build(canonical.StockLevel, {
        "location_external_id": location_id,
        "inventory_item_id": item.get("id"),
        "sku": item.get("sku") or None,
        "available": available(quantities),
        "on_hand": available(quantities, "on_hand"),
        "committed": available(quantities, "committed"),
    }, source=f"inventory item {item.get('id')} at {location_id}")


def order_status(raw: Raw) -> OrderStatus:
    if raw.get("cancelledAt"):
        return OrderStatus.CANCELLED
    if raw.get("displayFinancialStatus") == "REFUNDED":
        return OrderStatus.REFUNDED
    if raw.get("displayFulfillmentStatus") == "FULFILLED":
        return OrderStatus.COMPLETED
    return OrderStatus.OPEN


def shop_money(source: str, field: str, bag: Raw | None) -> Money | None:
    amount = ((bag or {}).get("shopMoney") or {})
    if not amount:
        return None
    return money(source, field, amount.get("amount"), str(amount.get("currencyCode")))


def order_line(raw: Raw, *, cancelled: int, source: str) -> dict[str, Any]:
    line_source = f"{source} line {raw.get('id')}"
    return {
        "external_id": raw.get("id"),
        "sku": raw.get("sku") or None,
        "external_variant_id": (raw.get("variant") or {}).get("id"),
        "quantity": raw.get("quantity"),
        "cancelled_quantity": min(cancelled, int(raw.get("quantity") or 0)),
        "unit_price": shop_money(line_source, "unit_price", raw.get("originalUnitPriceSet")),
        "title": raw.get("title") or "",
    }


def refund(raw: Raw, lines: Iterable[Raw], *, source: str) -> dict[str, Any]:
    return {
        "external_id": raw.get("id"),
        "created_at": time(source, "refunds.created_at", raw.get("createdAt")),
        "amount": shop_money(source, "refunds.amount", raw.get("totalRefundedSet")),
        "reason": str(raw.get("note") or "")[:500],
        "lines": tuple({"line_external_id": (line.get("lineItem") or {}).get("id"),
                        "quantity": line.get("quantity"),
                        "restock": line.get("restockType") in RESTOCK_TYPES} for line in lines),
    }


def cancelled_units(refunds: Iterable[tuple[Raw, Sequence[Raw]]]) -> dict[str, int]:
    """Units per order line put back before shipping (refund lines with restockType CANCEL)."""
    units: dict[str, int] = {}
    for _, lines in refunds:
        for line in lines:
            if line.get("restockType") == "CANCEL":
                line_id = str((line.get("lineItem") or {}).get("id"))
                units[line_id] = units.get(line_id, 0) + int(line.get("quantity") or 0)
    return units


def customer(raw: Raw) -> dict[str, Any]:
    """Email, country and the Shopify customer id: the least the hub needs (reports use only a hash)."""
    found = {"email": raw.get("email") or None, "country": (raw.get("shippingAddress") or {}).get("countryCodeV2"),
             "buyer_id": (raw.get("customer") or {}).get("id")}
    return {key: value for key, value in found.items() if value}


@canonical.normaliser("order")
def order(raw: Raw, lines: Iterable[Raw], refunds: Iterable[tuple[Raw, Sequence[Raw]]], *,
          account: str) -> canonical.Order:
    """An order from its payload plus its complete line items and (refund, refund lines) pairs."""
    source = f"order {raw.get('id')}"
    refunds = list(refunds)
    cancelled = cancelled_units(refunds)
    return canonical.build(canonical.Order, {
        "account": account,
        "external_id": raw.get("id"),
        "number": raw.get("name") or "",
        "status": order_status(raw),
        "currency": raw.get("currencyCode"),
        "total": shop_money(source, "total", raw.get("totalPriceSet")),
        "lines": tuple(order_line(line, cancelled=cancelled.get(str(line.get("id")), 0), source=source)
                       for line in lines),
        "refunds": tuple(refund(r, r_lines, source=source) for r, r_lines in refunds),
        "customer": customer(raw),
        "placed_at": time(source, "placed_at", raw.get("createdAt")),
        "updated_at": time(source, "updated_at", raw.get("updatedAt")),
    }, source=source)


def order_reference(raw: Raw) -> str | None:
    """What a fulfilment source's order says of the origin order: its `poNumber` when set (the
    field a merchant fills with the order it fulfils, e.g. `#1001` or `woo:1001`), else its name."""
    po_number = str(raw.get("poNumber") or "").strip()
    return po_number or raw.get("name") or None


def shipment(order_raw: Raw, fulfillment: Raw, lines: Iterable[Raw]) -> canonical.Shipment:
    """One fulfillment of an order (its first tracking entry) with its complete fulfillment lines."""
    source = f"fulfillment {fulfillment.get('id')} of order {order_raw.get('id')}"
    tracking = next(iter(fulfillment.get("trackingInfo") or []), None) or {}
    if not tracking.get("number"):
        raise CanonicalError(source, "trackingInfo.number", "is missing: the hub matches shipments by tracking "
                                                             "number; add one to the fulfillment on Shopify")
    return canonical.build(canonical.Shipment, {
        "order_external_id": order_raw.get("id"),
        "order_reference": order_reference(order_raw),
        "carrier": tracking.get("company") or "",
        "tracking_number": tracking["number"],
        "tracking_url": blank_to_none(tracking.get("url")),
        "lines": tuple({"order_line_external_id": (line.get("lineItem") or {}).get("id"),
                        "sku": blank_to_none((line.get("lineItem") or {}).get("sku")),
                        "quantity": line.get("quantity")} for line in lines),
        "shipped_at": time(source, "shipped_at", fulfillment.get("createdAt")),
    }, source=source)


# -- canonical → Shopify inputs --------------------------------------------------------------


def price_text(value: Money | Decimal | None) -> str | None:
    if value is None:
        return None
    return str(value.amount if isinstance(value, Money) else value)


def product_input(product: canonical.Product, *, option_name: str) -> dict[str, Any]:
    """`ProductCreateInput` for a product; its variants go in with `variant_inputs`."""
    values = [v.options.get(option_name) or v.title or v.sku for v in product.variants]
    return {
        "title": product.title,
        "descriptionHtml": product.description,
        "vendor": product.vendor,
        "productType": product.product_type,
        "tags": list(product.tags),
        "status": SHOPIFY_STATUS[product.status],
        "productOptions": [{"name": option_name, "values": [{"name": v} for v in dict.fromkeys(values)]}],
    }


def option_name(product: canonical.Product) -> str:
    """The product's single option (Shopify needs one); the first option key of its variants."""
    for v in product.variants:
        if v.options:
            return next(iter(v.options))
    return "Title"


def variant_input(v: canonical.Variant, *, option: str) -> dict[str, Any]:
    """`ProductVariantsBulkInput` for a new variant."""
    data: dict[str, Any] = {
        "optionValues": [{"optionName": option, "name": v.options.get(option) or v.title or v.sku}],
        "price": price_text(v.price) or "0.00",
        "barcode": v.barcode,
        "inventoryItem": {"sku": v.sku, "tracked": v.tracked},
    }
    if v.compare_at_price is not None:
        data["compareAtPrice"] = price_text(v.compare_at_price)
    return data


VARIANT_FIELDS = {"price": "price", "compare_at_price": "compareAtPrice", "barcode": "barcode"}
PRODUCT_FIELDS = {"product_title": "title", "status": "status"}
LISTING_FIELDS = frozenset({*VARIANT_FIELDS, *PRODUCT_FIELDS, "sku", "title"})


def listing_changes(listing: canonical.Listing, changes: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(ProductUpdateInput fields, ProductVariantsBulkInput fields) for a listing's changes.

    `title` on a listing means the product title (a Shopify variant's title is its options).
    """
    unknown = set(changes) - LISTING_FIELDS
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} on a Shopify listing; "
                         f"changeable: {sorted(LISTING_FIELDS)}")
    product_fields: dict[str, Any] = {}
    variant_fields: dict[str, Any] = {}
    for key, value in changes.items():
        if key in ("title", "product_title"):
            product_fields["title"] = str(value)
        elif key == "status":
            product_fields["status"] = SHOPIFY_STATUS[ProductStatus(value)]
        elif key == "sku":
            variant_fields["inventoryItem"] = {"sku": canonical.clean_sku(value)}
        elif key == "barcode":
            variant_fields["barcode"] = canonical.clean_barcode(value) or ""
        else:
            variant_fields[VARIANT_FIELDS[key]] = price_text(value)
    return product_fields, variant_fields
