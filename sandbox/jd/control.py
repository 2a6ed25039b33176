"""The control plane under `/_sandbox/` (`sandbox.gateway_control`) with what only 京东 has: an
access token to expire. Each route is one call on `JdSimulator`."""

from __future__ import annotations

from starlette.routing import Route

from sandbox.gateway_control import common_routes, route
from sandbox.jd.model import parse_time


def routes() -> list[Route]:
    return common_routes(
        lambda s, b, p: s.touch_order(p["order_id"], parse_time(b["modified"]) if b.get("modified") else None),
        route("/_sandbox/token/expire", lambda s, b, p: s.expire_token(), ["POST"]),
    )
