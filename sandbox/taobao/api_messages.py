"""TMC over the TOP gateway: `taobao.tmc.user.permit`, `taobao.tmc.messages.consume`,
`taobao.tmc.messages.confirm`."""

from __future__ import annotations

from typing import Any

from sandbox.taobao.errors import invalid
from sandbox.taobao.shop import Call, TaobaoShop

CONFIRM_LIMIT = 200


def _group(call: Call) -> None:
    group = call.text("group_name")
    if group not in (None, "default"):
        raise invalid("group_name", f"this app has no user group {group!r}; omit group_name for the default group")


def tmc_user_permit(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    shop.tmc.permit(shop.store.seller_id)
    return {"is_success": True}


def tmc_messages_consume(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    _group(call)
    quantity = call.number("quantity", default=100, low=10, high=200) or 100
    batch = shop.tmc.consume(quantity)
    return {"messages": {"tmc_message": [m.as_json() for m in batch]}} if batch else {}


def tmc_messages_confirm(shop: TaobaoShop, call: Call) -> dict[str, Any]:
    _group(call)
    raw = call.text("s_message_ids", required=True) or ""
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if len(parts) > CONFIRM_LIMIT:
        raise invalid("s_message_ids", f"at most {CONFIRM_LIMIT} message ids per confirm, got {len(parts)}")
    if not all(part.isdigit() for part in parts):
        raise invalid("s_message_ids", "s_message_ids must be a comma-separated list of message ids")
    shop.tmc.confirm([int(part) for part in parts])
    return {"is_success": True}


HANDLERS = {
    "taobao.tmc.user.permit": tmc_user_permit,
    "taobao.tmc.messages.consume": tmc_messages_consume,
    "taobao.tmc.messages.confirm": tmc_messages_confirm,
}
# Methods that act for the app, not for a seller: no `session` needed.
APP_METHODS = {"taobao.tmc.messages.consume", "taobao.tmc.messages.confirm", "taobao.logistics.companies.get"}
