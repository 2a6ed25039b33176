"""The Starlette app: the PDD gateway, the control plane, and fault injection around the gateway."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from sandbox.pinduoduo import control, gateway
from sandbox.pinduoduo.shop import PddShop
from sandbox.runtime import FaultMiddleware


def create_app(shop: PddShop, simulator: Any) -> Starlette:
    app = Starlette(routes=[Route("/api/router", gateway.router, methods=["POST"]), *control.routes()])
    app.add_middleware(FaultMiddleware, faults=shop.faults, counter=shop.requests, error=gateway.fault_response,
                       label=gateway.label)
    app.state.shop = shop
    app.state.simulator = simulator
    return app
