"""The Starlette app: the TOP gateway, the control plane, and fault injection around the gateway."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from sandbox.runtime import FaultMiddleware
from sandbox.taobao import control, gateway
from sandbox.taobao.shop import TaobaoShop


def create_app(shop: TaobaoShop, simulator: Any) -> Starlette:
    app = Starlette(routes=[Route("/router/rest", gateway.router, methods=["GET", "POST"]), *control.routes()])
    app.add_middleware(FaultMiddleware, faults=shop.faults, counter=shop.requests, error=gateway.fault_response,
                       label=gateway.label)
    app.state.shop = shop
    app.state.simulator = simulator
    return app
