"""An order webhook's body (Shopify's REST order JSON) as the order the Admin API would return.

Shopify sends `orders/*` webhooks with the whole order in the REST shape. The hub takes such a
body as the order's state at its `updated_at` instead of reading the order again (12 query-cost
points an order on Shopify's own figures, most of a Standard shop's restore rate at a few orders
a second). This module only restates the body in the GraphQL shape `normalise.order` reads;
what it cannot restate exactly, it refuses (None), and the event job reads the order instead:

- an order with refunds (a REST refund carries its amount only in `transactions`, where the
  Admin API reads `totalRefundedSet`, so the two would not say the same);
- a body without the fields the hub needs (`updated_at`, `line_items`, `currency`, `created_at`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Raw = Mapping[str, Any]

FINANCIAL = {"pending": "PENDING", "authorized": "AUTHORIZED", "partially_paid": "PARTIALLY_PAID", "paid": "PAID",
             "partially_refunded": "PARTIALLY_REFUNDED", "refunded": "REFUNDED", "voided": "VOIDED",
             "expired": "EXPIRED"}
FULFILMENT = {None: "UNFULFILLED", "fulfilled": "FULFILLED", "partial": "PARTIALLY_FULFILLED",
              "restocked": "RESTOCKED"}
REQUIRED = ("id", "updated_at", "created_at", "currency", "line_items")


def gid(kind: str, value: Any) -> str | None:
    return f"gid://shopify/{kind}/{value}" if value not in (None, "") else None


def _money(amount: Any, currency: Any) -> dict[str, Any] | None:
    if amount in (None, ""):
        return None
    return {"shopMoney": {"amount": str(amount), "currencyCode": currency}}


def _line(raw: Raw, currency: Any) -> dict[str, Any]:
    variant = gid("ProductVariant", raw.get("variant_id"))
    return {"id": raw.get("admin_graphql_api_id") or gid("LineItem", raw.get("id")), "sku": raw.get("sku"),
            "title": raw.get("title"), "quantity": raw.get("quantity"), "currentQuantity": raw.get("current_quantity"),
            "variant": {"id": variant} if variant else None,
            "originalUnitPriceSet": _money(raw.get("price"), currency)}


def as_admin_order(body: Raw) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """(order, its line items) in the Admin API's shape, or None when the body cannot say it exactly."""
    if any(body.get(key) in (None, "") for key in REQUIRED) or not isinstance(body.get("line_items"), list):
        return None
    if body.get("refunds"):
        return None
    if body.get("fulfillment_status") not in FULFILMENT or body.get("financial_status") not in FINANCIAL:
        return None
    currency = body.get("currency")
    shipping = body.get("shipping_address") if isinstance(body.get("shipping_address"), Mapping) else {}
    customer = body.get("customer") if isinstance(body.get("customer"), Mapping) else None
    order = {
        "id": body.get("admin_graphql_api_id") or gid("Order", body.get("id")), "name": body.get("name"),
        "createdAt": body.get("created_at"), "updatedAt": body.get("updated_at"),
        "cancelledAt": body.get("cancelled_at"), "currencyCode": currency, "email": body.get("email"),
        "displayFinancialStatus": FINANCIAL[body["financial_status"]],
        "displayFulfillmentStatus": FULFILMENT[body.get("fulfillment_status")],
        "totalPriceSet": _money(body.get("total_price"), currency),
        "shippingAddress": {"countryCodeV2": shipping.get("country_code")} if shipping else None,
        "customer": {"id": customer.get("admin_graphql_api_id") or gid("Customer", customer.get("id"))}
        if customer and customer.get("id") is not None else None,
    }
    return order, [_line(line, currency) for line in body["line_items"] if isinstance(line, Mapping)]
