"""The Starlette app: the JOS gateway, the control plane, and fault injection around the gateway."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from sandbox.jd import control, gateway
from sandbox.jd.shop import JdShop
from sandbox.runtime import FaultMiddleware


def create_app(shop: JdShop, simulator: Any) -> Starlette:
    app = Starlette(routes=[Route("/routerjson", gateway.router, methods=["GET", "POST"]), *control.routes()])
    app.add_middleware(FaultMiddleware, faults=shop.faults, counter=shop.requests, error=gateway.fault_response,
                       label=gateway.label)
    app.state.shop = shop
    app.state.simulator = simulator
    return app
