"""`inventorySetQuantities` and `inventoryAdjustQuantities`, with compare-and-swap.

Each quantity must carry `changeFromQuantity` (null skips the check); one stale value, or
any other invalid row, fails the whole call with userErrors and nothing is applied.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLError

from sandbox.shopify import views
from sandbox.shopify.model import gid, iso, now, parse_gid
from sandbox.shopify.store import Change, Store
from sandbox.shopify.views import Ctx, View

MAX_QUANTITIES = 250
MAX_QUANTITY = 1_000_000_000
REASONS = {"correction", "cycle_count_available", "damaged", "movement_created", "movement_updated",
           "movement_received", "movement_canceled", "other", "promotion", "quality_control", "received",
           "reservation_created", "reservation_deleted", "reservation_updated", "restock", "safety_stock",
           "shrinkage"}
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def _error(path: list[str], message: str, code: str | None, kind: str) -> View:
    return {"__typename": kind, "field": path, "message": message, "code": code}


def _check_input(data: dict[str, Any], rows_key: str, names: tuple[str, ...], name_code: str,
                 kind: str) -> list[View]:
    rows = data[rows_key]
    if len(rows) > MAX_QUANTITIES:
        raise GraphQLError(f"The input array size of {len(rows)} is greater than the maximum allowed of "
                           f"{MAX_QUANTITIES}.", extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
                           )
    errors = []
    if data["name"] not in names:
        errors.append(_error(["input", "name"], f"The quantity name must be one of: {', '.join(names)}.",
                             name_code, kind))
    if data["reason"] not in REASONS:
        errors.append(_error(["input", "reason"], "The specified reason is invalid.", "INVALID_REASON", kind))
    reference = data.get("referenceDocumentUri")
    if reference is not None and not URI.match(reference):
        errors.append(_error(["input", "referenceDocumentUri"], "The specified reference document is invalid.",
                             "INVALID_REFERENCE_DOCUMENT", kind))
    return errors


def _check_row(store: Store, row: dict[str, Any], path: list[str], name: str, seen: set[tuple[int, int]],
               kind: str) -> tuple[list[View], Any, int]:
    """Errors for one row, and the inventory item and location id it names."""
    item = store.items.get(parse_gid(row["inventoryItemId"], "InventoryItem") or 0)
    location_id = parse_gid(row["locationId"], "Location") or 0
    if item is None:
        return [_error([*path, "inventoryItemId"], "The specified inventory item could not be found.",
                       "INVALID_INVENTORY_ITEM", kind)], None, 0
    if location_id not in store.locations:
        return [_error([*path, "locationId"], "The specified location could not be found.", "INVALID_LOCATION",
                       kind)], None, 0
    if location_id not in item.levels:
        return [_error([*path, "locationId"], "The specified inventory item is not stocked at the location.",
                       "ITEM_NOT_STOCKED_AT_LOCATION", kind)], None, 0
    errors = []
    if (item.id, location_id) in seen:
        errors.append(_error(path, "The combination of inventoryItemId and locationId must be unique.",
                             "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", kind))
    seen.add((item.id, location_id))
    if "changeFromQuantity" not in row:
        errors.append(_error([*path, "changeFromQuantity"], "changeFromQuantity is required: pass the "
                             "quantity you expect, or null to skip the compare-and-swap check.",
                             "COMPARE_QUANTITY_REQUIRED" if kind.startswith("InventorySet") else None, kind))
    elif row["changeFromQuantity"] is not None:
        level = item.levels[location_id]
        current = level.available if name == "available" else level.on_hand
        if row["changeFromQuantity"] != current:
            errors.append(_error([*path, "changeFromQuantity"], "The specified compare quantity does not match "
                                 "the current quantity.", "CHANGE_FROM_QUANTITY_STALE", kind))
    return errors, item, location_id


def set_quantities(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    store, data, kind = ctx.store, args["input"], "InventorySetQuantitiesUserError"
    errors = _check_input(data, "quantities", ("available", "on_hand"), "INVALID_NAME", kind)
    rows: list[tuple[Any, int, int]] = []
    seen: set[tuple[int, int]] = set()
    for index, row in enumerate(data["quantities"]):
        path = ["input", "quantities", str(index)]
        row_errors, item, location_id = _check_row(store, row, path, data["name"], seen, kind)
        if row["quantity"] < 0:
            row_errors.append(_error([*path, "quantity"], "The quantity can't be negative.",
                                     "INVALID_QUANTITY_NEGATIVE", kind))
        elif row["quantity"] > MAX_QUANTITY:
            row_errors.append(_error([*path, "quantity"], "The quantity can't be higher than 1,000,000,000.",
                                     "INVALID_QUANTITY_TOO_HIGH", kind))
        errors.extend(row_errors)
        rows.append((item, location_id, row["quantity"]))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes: list[Change] = []
    for item, location_id, quantity in rows:
        changes += store.set_quantity(item, location_id, data["name"], quantity, kind="inventorySetQuantities",
                                      source="api", name=data["name"], quantity=quantity,
                                      reason=data["reason"], reference=data.get("referenceDocumentUri"))
    return {"inventoryAdjustmentGroup": adjustment_group(ctx, data, changes), "userErrors": []}


def adjust_quantities(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    store, data, kind = ctx.store, args["input"], "InventoryAdjustQuantitiesUserError"
    errors = _check_input(data, "changes", ("available", "on_hand"), "INVALID_QUANTITY_NAME", kind)
    rows: list[tuple[Any, int, int]] = []
    seen: set[tuple[int, int]] = set()
    for index, row in enumerate(data["changes"]):
        row_errors, item, location_id = _check_row(store, row, ["input", "changes", str(index)], data["name"],
                                                   seen, kind)
        errors.extend(row_errors)
        rows.append((item, location_id, row["delta"]))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes: list[Change] = []
    for item, location_id, delta in rows:
        changes += store.change_level(item, location_id, on_hand_delta=delta, kind="inventoryAdjustQuantities",
                                      source="api", name=data["name"], delta=delta, reason=data["reason"],
                                      reference=data.get("referenceDocumentUri"))
    return {"inventoryAdjustmentGroup": adjustment_group(ctx, data, changes), "userErrors": []}


def adjustment_group(ctx: Ctx, data: dict[str, Any], changes: list[Change]) -> View:
    store = ctx.store
    group_id = store.next_id("group")
    snapshot = [(c.item_id, c.location_id, c.name, c.delta, c.after) for c in changes]

    def change_views(args: dict[str, Any]) -> list[View]:
        names = args.get("quantityNames")
        item_ids = {parse_gid(i, "InventoryItem") for i in args.get("inventoryItemIds") or []}
        location_ids = {parse_gid(i, "Location") for i in args.get("locationIds") or []}
        return [{"__typename": "InventoryChange", "name": name, "delta": delta, "quantityAfterChange": after,
                 "ledgerDocumentUri": None,
                 "item": views.inventory_item(ctx, store.items[item_id]) if item_id in store.items else None,
                 "location": views.location(ctx, store.locations[location_id])}
                for item_id, location_id, name, delta, after in snapshot
                if (not names or name in names) and (not item_ids or item_id in item_ids)
                and (not location_ids or location_id in location_ids)]

    return {"__typename": "InventoryAdjustmentGroup", "id": gid("InventoryAdjustmentGroup", group_id),
            "createdAt": iso(now()), "reason": data["reason"],
            "referenceDocumentUri": data.get("referenceDocumentUri"), "app": None, "staffMember": None,
            "changes": change_views}
