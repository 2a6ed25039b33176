"""The control plane under `/_sandbox/` (`sandbox.gateway_control`) with what only 淘宝 has: 预售
(presale) items, an expiring session and the TMC message queue. Each route is one call on
`TaobaoSimulator`."""

from __future__ import annotations

from starlette.routing import Route

from sandbox.gateway_control import common_routes, route
from sandbox.taobao.model import parse_time


def routes() -> list[Route]:
    return common_routes(
        lambda s, b, p: s.touch_order(p["order_id"], parse_time(b["modified"]) if b.get("modified") else None),
        route("/_sandbox/presale", lambda s, b, p: s.set_presale(str(b["sku"]), bool(b.get("presale", True))),
              ["POST"]),
        route("/_sandbox/session/expire", lambda s, b, p: s.expire_session(), ["POST"]),
        route("/_sandbox/tmc", lambda s, b, p: s.tmc_state(), ["GET"]),
        route("/_sandbox/tmc/redeliver", lambda s, b, p: s.redeliver_now(), ["POST"]),
    )
