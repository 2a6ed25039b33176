"""Writes to Shopify: stock (compare-and-swap, idempotent), fulfilments (exactly once), webhooks.

Stock: `inventorySetQuantities` with `name: "available"`, one call per chunk of ≤ 250, each
row carrying `changeFromQuantity` (the hub's compare value, or an explicit null to skip the
check) and the call an `@idempotent(key:)` derived from the chunk's content, so a retry after
a timeout is applied once. Shopify applies a chunk all-or-nothing: when some rows are
CHANGE_FROM_QUANTITY_STALE, nothing was written. The writer then reads the stale items' current
quantities back, reports them `stale(N)` — even when N happens to be the
wanted value, because the channel may have reached it through its own sale that the hub has not
ingested yet, and only the hub can tell — reports rows with their own user errors as failed, and sends
the remaining rows again, for up to `STOCK_ROUNDS` rounds; whatever is still unsent after that
is reported `rejected` with the reason. Every update gets exactly one result. Writing `available`
moves Shopify's on_hand by the difference, so 0 is never written over a level already at or below
0 (an oversold CONTINUE item): that would raise on_hand to the committed count.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base import ShipmentPush, ShipmentResult
from connectors.errors import Rejected
from connectors.events import WebhookSubscription
from connectors.shopify import queries
from connectors.shopify.client import GraphQLClient
from connectors.shopify.normalise import available
from connectors.shopify.webhooks import SUBSCRIBED, TOPICS
from connectors.stock import StockUpdate, StockWriteResult

STOCK_ROUNDS = 3
STALE = "CHANGE_FROM_QUANTITY_STALE"
# Identical chunks within this window share an idempotency key (a retry of the same write);
# outside it, the same content is a new intention and must not be answered from Shopify's cache.
IDEMPOTENCY_WINDOW_S = 600


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def idempotency_key(rows: Sequence[dict[str, Any]], *, now: float | None = None) -> str:
    window = int((time.time() if now is None else now) // IDEMPOTENCY_WINDOW_S)
    content = json.dumps([window, rows], sort_keys=True, separators=(",", ":"))
    return "marketsync-stock-" + hashlib.sha256(content.encode()).hexdigest()[:40]


@dataclass
class StockChunk:
    """One chunk of stock updates, driven to one result per update."""

    client: GraphQLClient
    updates: Sequence[StockUpdate]
    default_location: Callable[[], str]
    results: dict[int, StockWriteResult] = field(default_factory=dict)

    def location(self, update: StockUpdate) -> str:
        return update.location_external_id or self.default_location()

    def row(self, update: StockUpdate) -> dict[str, Any]:
        return {"inventoryItemId": update.external_inventory_item_id, "locationId": self.location(update),
                "quantity": update.quantity, "changeFromQuantity": update.compare_quantity}

    def run(self) -> list[StockWriteResult]:
        pending = self._without_oversold_zeros([i for i, u in enumerate(self.updates) if self._sendable(i, u)])
        for _ in range(STOCK_ROUNDS):
            if not pending:
                break
            pending = self._send(pending)
        for index in pending:
            self._fail(index, f"not applied after {STOCK_ROUNDS} rounds of stale quantities in the same "
                              "batch; send it again")
        return [self.results[i] for i in range(len(self.updates))]

    def _sendable(self, index: int, update: StockUpdate) -> bool:
        if not update.external_inventory_item_id:
            self._fail(index, f"variant {update.external_variant_id} has no inventory item id; "
                              "re-read the account's listings")
            return False
        return True

    def _without_oversold_zeros(self, pending: list[int]) -> list[int]:
        """Rows publishing 0 where the channel may already be below zero are read first, not written.

        `inventorySetQuantities` on `available` moves on_hand by the difference: setting 0 over a
        level Shopify oversold (CONTINUE, committed > on_hand) would raise on_hand to the committed
        count. A level at or below 0 already sells nothing, so such a row counts as applied at the
        level the channel shows (the hub treats a published 0 as in step with any level ≤ 0)."""
        doubtful = [i for i in pending if self.updates[i].quantity == 0
                    and (self.updates[i].compare_quantity or 0) <= 0]
        if not doubtful:
            return pending
        observed = read_available(self.client, [(self.updates[i].external_inventory_item_id or "",
                                                 self.location(self.updates[i])) for i in doubtful])
        settled = set()
        for index in doubtful:
            update = self.updates[index]
            current = observed.get((update.external_inventory_item_id or "", self.location(update)))
            if current is not None and current <= 0:
                self.results[index] = StockWriteResult.applied(update.listing_ref, current)
                settled.add(index)
        return [i for i in pending if i not in settled]

    def _fail(self, index: int, error: str) -> None:
        self.results[index] = StockWriteResult.rejected(self.updates[index].listing_ref, error)

    def _send(self, pending: list[int]) -> list[int]:
        """Send `pending`; record results; return the indexes to send again."""
        rows = [self.row(self.updates[i]) for i in pending]
        variables = {"input": {"name": "available", "reason": "correction",
                               "referenceDocumentUri": "gid://marketsync/StockPush/1", "quantities": rows},
                     "key": idempotency_key(rows)}
        payload = self.client.execute(queries.SET_QUANTITIES, variables, what="inventorySetQuantities")
        errors = (payload.get("inventorySetQuantities") or {}).get("userErrors") or []
        if not errors:
            for i in pending:
                self.results[i] = StockWriteResult.applied(self.updates[i].listing_ref, self.updates[i].quantity)
            return []
        return self._sort_errors(pending, errors)

    def _sort_errors(self, pending: list[int], errors: list[dict[str, Any]]) -> list[int]:
        by_row: dict[int, list[dict[str, Any]]] = {}
        for error in errors:
            position = row_position(error.get("field"))
            if position is None or position >= len(pending):
                message = "; ".join(e.get("message", "") for e in errors)
                raise Rejected(self.client.where("inventorySetQuantities"), f"Shopify refused the batch: {message}")
            by_row.setdefault(pending[position], []).append(error)
        stale = [i for i, errs in by_row.items() if all(e.get("code") == STALE for e in errs)]
        for index, errs in by_row.items():
            if index not in stale:
                self._fail(index, "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errs))
        self._resolve_stale(stale)
        return [i for i in pending if i not in by_row]

    def _resolve_stale(self, stale: list[int]) -> None:
        observed = read_available(self.client, [(self.updates[i].external_inventory_item_id or "",
                                                 self.location(self.updates[i])) for i in stale])
        for index in stale:
            update = self.updates[index]
            current = observed.get((update.external_inventory_item_id or "", self.location(update)))
            if current is None:
                self._fail(index, "the channel refused the compared quantity and its current one could not be "
                                  "read back")
            else:
                self.results[index] = StockWriteResult.stale(update.listing_ref, current)


def row_position(path: Any) -> int | None:
    """The row index in a userError `field` such as ["input", "quantities", "3", "changeFromQuantity"]."""
    if isinstance(path, list) and len(path) >= 3 and path[1] == "quantities" and str(path[2]).isdigit():
        return int(path[2])
    return None


def read_available(client: GraphQLClient, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """Current `available` of (inventory item, location) pairs."""
    by_location: dict[str, list[str]] = {}
    for item_id, location_id in keys:
        by_location.setdefault(location_id, []).append(item_id)
    found: dict[tuple[str, str], int | None] = {}
    for location_id, item_ids in by_location.items():
        for part in chunks(item_ids, 250):
            data = client.execute(queries.INVENTORY_AVAILABLE, {"ids": list(part), "locationId": location_id},
                                  what="inventory read-back")
            for node in data.get("nodes") or []:
                if node and node.get("id"):
                    level = node.get("inventoryLevel") or {}
                    found[(node["id"], location_id)] = available(level.get("quantities"))
    return found


def set_stock(client: GraphQLClient, updates: Sequence[StockUpdate], *, default_location: Callable[[], str],
              batch_size: int) -> list[StockWriteResult]:
    results: list[StockWriteResult] = []
    for chunk in chunks(updates, batch_size):
        results += StockChunk(client, chunk, default_location).run()
    return results


# -- fulfilments -------------------------------------------------------------------------------


def push_shipment(client: GraphQLClient, shipment: ShipmentPush, *, notify_customer: bool) -> ShipmentResult:
    """Record a shipment once: lines already fulfilled under the same tracking number are not sent again,
    except by fulfilments the order's other shipments were recorded under."""
    what = f"order {shipment.order_external_id}, shipment {shipment.tracking_number}"
    data = client.execute(queries.ORDER_FULFILMENT_STATE, {"id": shipment.order_external_id}, what=what)
    order = data.get("order")
    if not order:
        raise Rejected(client.where(what), "the order does not exist on the channel")
    existing = [f for f in order.get("fulfillments") or [] if f.get("id") not in shipment.other_external_ids
                and any(t.get("number") == shipment.tracking_number for t in f.get("trackingInfo") or [])]
    wanted = remaining_lines(shipment, existing)
    if existing and not any(wanted.values()):
        return ShipmentResult(external_id=existing[0]["id"], already_present=True)
    groups = fulfilment_groups(order, wanted, everything=not shipment.lines)
    if not groups:
        raise Rejected(client.where(what), "nothing left to fulfil for these lines on the channel")
    created = [create_fulfilment(client, shipment, group, notify_customer=notify_customer, what=what)
               for group in groups.values()]
    return ShipmentResult(external_id=created[0])


def remaining_lines(shipment: ShipmentPush, existing: list[dict[str, Any]]) -> dict[str, int]:
    """Quantity per order line still to send, after what the same tracking number already covers."""
    wanted: dict[str, int] = {}
    for line_id, quantity in shipment.lines:
        wanted[line_id] = wanted.get(line_id, 0) + quantity
    for fulfilment in existing:
        for node in (fulfilment.get("fulfillmentLineItems") or {}).get("nodes") or []:
            line_id = str((node.get("lineItem") or {}).get("id"))
            if line_id in wanted:
                wanted[line_id] = max(wanted[line_id] - int(node.get("quantity") or 0), 0)
    return wanted


def fulfilment_groups(order: dict[str, Any], wanted: dict[str, int], *,
                      everything: bool) -> dict[str, list[dict[str, Any]]]:
    """`lineItemsByFulfillmentOrder` entries per location (one fulfilment per location)."""
    left = dict(wanted)
    groups: dict[str, list[dict[str, Any]]] = {}
    for fo in (order.get("fulfillmentOrders") or {}).get("nodes") or []:
        if fo.get("status") not in ("OPEN", "IN_PROGRESS"):
            continue
        items = []
        for line in (fo.get("lineItems") or {}).get("nodes") or []:
            line_id = str((line.get("lineItem") or {}).get("id"))
            take = line["remainingQuantity"] if everything else min(left.get(line_id, 0), line["remainingQuantity"])
            if take > 0:
                items.append({"id": line["id"], "quantity": take})
                left[line_id] = left.get(line_id, 0) - take
        if items:
            location = ((fo.get("assignedLocation") or {}).get("location") or {}).get("id", "")
            groups.setdefault(location, []).append({"fulfillmentOrderId": fo["id"],
                                                    "fulfillmentOrderLineItems": items})
    return groups


def create_fulfilment(client: GraphQLClient, shipment: ShipmentPush, by_order: list[dict[str, Any]], *,
                      notify_customer: bool, what: str) -> str:
    tracking: dict[str, str] = {"company": shipment.carrier, "number": shipment.tracking_number}
    if shipment.tracking_url:
        tracking["url"] = shipment.tracking_url
    fulfilment = {"lineItemsByFulfillmentOrder": by_order, "trackingInfo": tracking,
                  "notifyCustomer": notify_customer}
    data = client.execute(queries.FULFILLMENT_CREATE, {"fulfillment": fulfilment}, what=what)
    payload = user_errors_checked(client, data, "fulfillmentCreate", what)
    return str(payload["fulfillment"]["id"])


def user_errors_checked(client: GraphQLClient, data: dict[str, Any], mutation: str, what: str) -> dict[str, Any]:
    """The mutation's payload, or Rejected with Shopify's userErrors."""
    payload = data.get(mutation) or {}
    errors = payload.get("userErrors") or []
    if errors:
        detail = "; ".join(f"{'.'.join(e.get('field') or [])}: {e.get('message')}" for e in errors)
        raise Rejected(client.where(what), f"{mutation} refused: {detail}")
    return payload


# -- webhooks ----------------------------------------------------------------------------------


def subscription(node: dict[str, Any]) -> WebhookSubscription:
    return WebhookSubscription(external_id=node["id"], topic=TOPICS.get(node["topic"], node["topic"]),
                               url=node.get("uri") or "")


def list_webhooks(client: GraphQLClient, *, page_size: int) -> list[WebhookSubscription]:
    nodes = client.paginate(queries.WEBHOOKS, {"first": page_size}, ("webhookSubscriptions",),
                            what="webhook subscriptions")
    return [subscription(n) for n in nodes]


def register_webhooks(client: GraphQLClient, url: str, *, page_size: int) -> list[WebhookSubscription]:
    """Subscribe `url` to every topic the hub needs; existing identical subscriptions are kept."""
    present = {(s.topic, s.url): s for s in list_webhooks(client, page_size=page_size)}
    subscribed: list[WebhookSubscription] = []
    for enum_value in SUBSCRIBED:
        topic = TOPICS[enum_value]
        if (topic, url) in present:
            subscribed.append(present[(topic, url)])
            continue
        what = f"webhook {topic}"
        data = client.execute(queries.WEBHOOK_CREATE, {"topic": enum_value,
                                                       "subscription": {"uri": url, "format": "JSON"}}, what=what)
        payload = user_errors_checked(client, data, "webhookSubscriptionCreate", what)
        subscribed.append(subscription(payload["webhookSubscription"]))
    return subscribed


def delete_webhook(client: GraphQLClient, external_id: str) -> None:
    what = f"webhook {external_id}"
    data = client.execute(queries.WEBHOOK_DELETE, {"id": external_id}, what=what)
    user_errors_checked(client, data, "webhookSubscriptionDelete", what)
