"""What route handlers share: the store, fault settings, options, and permission checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from starlette.requests import Request

from sandbox.runtime import Faults
from sandbox.woocommerce.errors import WooError
from sandbox.woocommerce.store import WooStore

MAX_BATCH = 100  # WooCommerce's `woocommerce_rest_batch_items_limit` default

DENIED = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
    "batch": ("woocommerce_rest_cannot_batch",
              "Sorry, you are not allowed to batch manipulate this resource."),
}


@dataclass
class Options:
    """Per-store switches the control plane can change at run time."""

    consumer_key: str
    consumer_secret: str
    shipment_tracking: bool = True
    request_limit: int | None = None


@dataclass
class Sim:
    store: WooStore
    faults: Faults
    options: Options
    extra: dict[str, Any] = field(default_factory=dict)

    def corrupt(self, record_id: int) -> bool:
        return str(record_id) in self.faults.corrupt_ids


def sim(request: Request) -> Sim:
    value: Sim = request.app.state.sim
    return value


def require(request: Request, action: str) -> Sim:
    """The permission callback: an unauthenticated caller gets WooCommerce's 401 for `action`."""
    if not getattr(request.state, "authenticated", False):
        code, message = DENIED[action]
        raise WooError(code, message, 401)
    return sim(request)


def path_id(request: Request, name: str = "id") -> int:
    return int(request.path_params[name])


Item = dict[str, Any]
ItemAction = Callable[[Item], Item]


def run_batch(payload: dict[str, Any], *, create: ItemAction | None, update: ItemAction,
              delete: Callable[[int], Item]) -> dict[str, list[Item]]:
    """WooCommerce batch semantics: at most 100 items in all; one item's error spares the rest."""
    creates = list(payload.get("create") or [])
    updates = list(payload.get("update") or [])
    deletes = list(payload.get("delete") or [])
    if len(creates) + len(updates) + len(deletes) > MAX_BATCH:
        raise WooError("woocommerce_rest_request_entity_too_large",
                       f"Unable to accept more than {MAX_BATCH} items for this request.", 413)
    result: dict[str, list[Item]] = {}
    if creates and create is not None:
        result["create"] = [_attempt(partial(create, item), 0) for item in creates]
    if updates:
        result["update"] = [_attempt(partial(update, item), _item_id(item)) for item in updates]
    if deletes:
        result["delete"] = [_attempt(partial(delete, _as_id(raw)), _as_id(raw)) for raw in deletes]
    return result


def _item_id(item: Any) -> int:
    return _as_id(item.get("id") if isinstance(item, dict) else None)


def _as_id(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0


def _attempt(action: Callable[[], Item], item_id: int) -> Item:
    try:
        return action()
    except WooError as error:
        return {"id": item_id, "error": {"code": error.code, "message": error.message,
                                         "data": {"status": error.status, **error.data}}}

