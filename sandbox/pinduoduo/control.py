"""The control plane under `/_sandbox/` (`sandbox.gateway_control`) with what only 拼多多 has: unpaid
orders holding `reserve_quantity`, promo-slot items and an access token to expire. Each route is one
call on `PddSimulator`."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from sandbox.gateway_control import Body, Params, common_routes, lines, route
from sandbox.pinduoduo.model import from_unix


def _unpaid(sim: Any, body: Body, path: Params) -> dict[str, Any]:
    return {"order_sn": sim.place_unpaid_order(lines(body) or [], buyer=body.get("buyer"))}


def routes() -> list[Route]:
    return common_routes(
        lambda s, b, p: s.touch_order(p["order_id"], from_unix(int(b["updated_at"])) if b.get("updated_at") else None),
        route("/_sandbox/unpaid-orders", _unpaid, ["POST"]),
        route("/_sandbox/unpaid-orders/{order_id}/pay", lambda s, b, p: s.pay_order(p["order_id"]), ["POST"]),
        route("/_sandbox/unpaid-orders/{order_id}/expire", lambda s, b, p: s.expire_unpaid_order(p["order_id"]),
              ["POST"]),
        route("/_sandbox/promo-slot", lambda s, b, p: s.set_promo_slot(str(b["sku"]), bool(b.get("promo", True))),
              ["POST"]),
        route("/_sandbox/token/expire", lambda s, b, p: s.expire_token(), ["POST"]),
    )
