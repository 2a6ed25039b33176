"""Writes to a WooCommerce store: batched stock and prices, listings, shipments, webhooks.

Batches go to `products/batch` (simple products) and `products/{parent}/variations/batch`
(variations), at most 100 items per call — WooCommerce refuses larger batches. Each item's
result is reported on its own: a batch answer carries `{"id", "error": {...}}` for a failed item.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import canonical
from canonical import Money, ProductStatus
from connectors.base import ShipmentPush, ShipmentResult
from connectors.errors import Rejected
from connectors.stock import StockUpdate, StockWriteResult
from connectors.woocommerce.client import TRACKING_API, WooClient, error_code
from connectors.woocommerce.normalise import money_amount

BATCH_LIMIT = 100
STATUS_OUT = {ProductStatus.ACTIVE: "publish", ProductStatus.DRAFT: "draft", ProductStatus.ARCHIVED: "private"}
MARKER = "marketsync shipment"


@dataclass(frozen=True)
class BatchItem:
    """One update in a batch: `ref` comes back in the result, `body` is the item's JSON."""

    ref: str
    body: dict[str, Any]


@dataclass(frozen=True)
class BatchResult:
    ref: str
    ok: bool
    record: dict[str, Any] | None = None
    error: str | None = None


def chunks(items: Sequence[BatchItem], size: int = BATCH_LIMIT) -> Iterator[Sequence[BatchItem]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def batch_path(parent_id: str | None) -> str:
    """`products/batch` for simple products, the parent's variations batch for variations."""
    return f"products/{parent_id}/variations/batch" if parent_id else "products/batch"


def batch_update(client: WooClient, parent_id: str | None, items: Sequence[BatchItem]) -> list[BatchResult]:
    """Send `items` as updates, ≤ 100 per call; one result per item, in order.

    A call the store rejects as a whole (4xx) fails each of its items; transient and auth failures raise.
    """
    results: list[BatchResult] = []
    path = batch_path(parent_id)
    for part in chunks(items):
        try:
            answer = client.post(path, {"update": [item.body for item in part]},
                                 what=f"POST {path} ({len(part)} items)")
        except Rejected as exc:
            results.extend(BatchResult(item.ref, False, error=str(exc)) for item in part)
            continue
        results.extend(_match(part, answer.get("update") or [] if isinstance(answer, dict) else []))
    return results


def _match(sent: Sequence[BatchItem], answered: Sequence[Any]) -> list[BatchResult]:
    """Pair each sent item with its answer: WooCommerce answers in request order, each with its id."""
    results = []
    for index, item in enumerate(sent):
        record = answered[index] if index < len(answered) and isinstance(answered[index], dict) else None
        if record is None:
            results.append(BatchResult(item.ref, False, error="the store's batch answer has no entry for it"))
        elif isinstance(record.get("error"), Mapping):
            error = record["error"]
            results.append(BatchResult(item.ref, False, record,
                                       f"{error.get('message') or 'rejected'} ({error.get('code') or 'error'})"))
        else:
            results.append(BatchResult(item.ref, True, record))
    return results


# ---- stock ---------------------------------------------------------------------------------------
def set_stock(client: WooClient, updates: Sequence[StockUpdate]) -> list[StockWriteResult]:
    """Absolute stock quantities (WooCommerce has no compare-and-swap). Stock management is switched
    on for the item, since WooCommerce ignores `stock_quantity` when it is off."""
    groups: dict[str | None, list[BatchItem]] = {}
    results: list[StockWriteResult] = []
    for update in updates:
        if not update.external_variant_id.isdigit():
            results.append(StockWriteResult.rejected(update.listing_ref,
                                                     f"{update.external_variant_id!r} is not a WooCommerce id"))
            continue
        parent = None if update.external_variant_id == update.external_product_id else update.external_product_id
        body = {"id": int(update.external_variant_id), "manage_stock": True, "stock_quantity": update.quantity}
        groups.setdefault(parent, []).append(BatchItem(update.listing_ref, body))
    wanted = {update.listing_ref: update.quantity for update in updates}
    for parent, items in groups.items():
        for done in batch_update(client, parent, items):
            if not done.ok:
                results.append(StockWriteResult.rejected(done.ref, done.error or "refused by the store"))
                continue
            quantity = (done.record or {}).get("stock_quantity")
            results.append(StockWriteResult.applied(done.ref, quantity if isinstance(quantity, int)
                                                    else wanted[done.ref]))
    return results


# ---- listings ------------------------------------------------------------------------------------
def price_fields(price: Money | None, compare_at: Money | None) -> dict[str, str]:
    """Canonical price/compare-at → WooCommerce regular/sale price.

    A compare-at price above the price means "on sale": regular = compare-at, sale = price.
    Otherwise regular = price and any sale price is cleared.
    """
    if price is None:
        return {}
    if compare_at is not None and price.amount < compare_at.amount:
        return {"regular_price": money_amount(compare_at), "sale_price": money_amount(price)}
    return {"regular_price": money_amount(price), "sale_price": ""}


LISTING_FIELDS = ("title", "product_title", "price", "compare_at_price", "sku", "barcode", "status")


def listing_body(listing: canonical.Listing, changes: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(own body, parent body) for an update: a variation's title lives on its parent product."""
    unknown = set(changes) - set(LISTING_FIELDS)
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} on a WooCommerce listing; "
                         f"changeable: {', '.join(LISTING_FIELDS)}")
    is_variation = listing.external_variant_id != listing.external_product_id
    own: dict[str, Any] = {}
    parent: dict[str, Any] = {}
    if "price" in changes or "compare_at_price" in changes:
        own.update(price_fields(changes.get("price", listing.price),
                                changes.get("compare_at_price", listing.compare_at_price)))
    if "sku" in changes:
        own["sku"] = changes["sku"] or ""
    if "barcode" in changes:
        own["global_unique_id"] = changes["barcode"] or ""
    if "status" in changes:
        status = ProductStatus(changes["status"])
        own["status"] = ("publish" if status == ProductStatus.ACTIVE else "private") if is_variation \
            else STATUS_OUT[status]
    if is_variation and "title" in changes:
        raise ValueError("a WooCommerce variation's title is its attribute values; change product_title instead")
    title = changes.get("product_title", changes.get("title"))
    if title is not None:
        (parent if is_variation else own)["name"] = title
    return own, parent


def product_bodies(product: canonical.Product) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(product body, variation bodies) to create `product`: one variant without options is a
    simple product; anything else is a variable product with one variation per variant."""
    base: dict[str, Any] = {"name": product.title, "description": product.description,
                            "status": STATUS_OUT[product.status],
                            "tags": [{"name": tag} for tag in product.tags]}
    if len(product.variants) == 1 and not product.variants[0].options:
        return {**base, "type": "simple", **_variant_body(product.variants[0])}, []
    names = _option_names(product)
    attributes = [{"name": name, "visible": True, "variation": True,
                   "options": _unique(v.options.get(name, v.title) for v in product.variants)}
                  for name in names]
    variations = [{**_variant_body(v),
                   "attributes": [{"name": name, "option": v.options.get(name, v.title)} for name in names]}
                  for v in product.variants]
    return {**base, "type": "variable", "attributes": attributes}, variations


def _option_names(product: canonical.Product) -> list[str]:
    names = _unique(name for v in product.variants for name in v.options)
    return names or ["Option"]


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values))


def _variant_body(variant: canonical.Variant) -> dict[str, Any]:
    return {"sku": variant.sku, "global_unique_id": variant.barcode or "", "manage_stock": variant.tracked,
            **price_fields(variant.price, variant.compare_at_price)}


# ---- shipments -----------------------------------------------------------------------------------
def tracking_route(order_id: str) -> str:
    return f"orders/{order_id}/shipment-trackings"


def trackings(client: WooClient, order_id: str) -> list[dict[str, Any]] | None:
    """The order's Shipment Tracking entries, or None when the extension is not installed
    (WordPress answers `rest_no_route`); an unknown order is Rejected."""
    response = client.send("GET", tracking_route(order_id), api=TRACKING_API, allow_404=True,
                           what=f"order {order_id} shipment trackings")
    if response.status_code == 404 and error_code(response) == "rest_no_route":
        return None
    if response.status_code == 404:
        raise Rejected(client.where, f"order {order_id} was not found on the store ({error_code(response)})",
                       status=404)
    body = response.json()
    return body if isinstance(body, list) else []


def push_tracking(client: WooClient, shipment: ShipmentPush, existing: list[dict[str, Any]]) -> ShipmentResult:
    """Add the tracking number unless the order already carries it for this shipment."""
    order_id = shipment.order_external_id
    for tracking in existing:
        if str(tracking.get("tracking_id")) in shipment.other_external_ids:
            continue  # another shipment of the order under the same number: not this one
        if _same_number(tracking.get("tracking_number"), shipment.tracking_number):
            return ShipmentResult(str(tracking.get("tracking_id")), already_present=True)
    body: dict[str, Any] = {"custom_tracking_provider": shipment.carrier, "tracking_number": shipment.tracking_number,
                            "date_shipped": datetime.now(UTC).date().isoformat()}
    if shipment.tracking_url:
        body["custom_tracking_link"] = shipment.tracking_url
    created = client.post(tracking_route(order_id), body, api=TRACKING_API, what=f"order {order_id} tracking")
    return ShipmentResult(str(created.get("tracking_id")))


def _same_number(left: Any, right: str) -> bool:
    return str(left or "").replace(" ", "").casefold() == right.replace(" ", "").casefold()


def note_text(shipment: ShipmentPush) -> str:
    """The customer-visible shipment note; its last line carries the idempotency key."""
    lines = [f"Your order has shipped with {shipment.carrier}.", f"Tracking number: {shipment.tracking_number}"]
    if shipment.tracking_url:
        lines.append(f"Track it here: {shipment.tracking_url}")
    lines.append(f"({MARKER} {shipment.idempotency_key})")
    return "\n".join(lines)


def push_note(client: WooClient, shipment: ShipmentPush) -> ShipmentResult:
    """Without the extension: an order note, unless a note already carries the shipment's key."""
    order_id = shipment.order_external_id
    marker = f"({MARKER} {shipment.idempotency_key})"
    # The notes route is not paginated: one GET returns every note of the order.
    notes = client.get(f"orders/{order_id}/notes", params={"type": "any"}, what=f"order {order_id} notes")
    for note in notes if isinstance(notes, list) else []:
        if marker in str(note.get("note", "")):
            return ShipmentResult(str(note.get("id")), already_present=True)
    created = client.post(f"orders/{order_id}/notes", {"note": note_text(shipment), "customer_note": True},
                          what=f"order {order_id} note")
    return ShipmentResult(str(created.get("id")))


def complete_order(client: WooClient, order_id: str) -> None:
    """Mark the order completed (every line shipped), unless it already is."""
    current = client.get(f"orders/{order_id}", params={"_fields": "id,status"}, what=f"order {order_id}")
    if current.get("status") != "completed":
        client.put(f"orders/{order_id}", {"status": "completed"}, what=f"order {order_id} status")
