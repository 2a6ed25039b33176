"""The Starlette app: GraphQL and REST Admin routes behind fault injection, plus `/_sandbox/`."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route

from sandbox.runtime import FaultMiddleware
from sandbox.shopify import bulk, control, rest
from sandbox.shopify.graphql_api import graphql_endpoint
from sandbox.shopify.shop import ShopRuntime

API = "/admin/api/{version}"


def route_label(request: Request) -> str:
    """`graphql`, `rest:products` …: how RequestCounter groups API requests."""
    path = request.url.path
    if path.startswith("/_bulk/"):
        return "bulk-file"
    if path.endswith("/graphql.json"):
        return "graphql"
    tail = path.split("/admin/api/", 1)[-1].split("/", 1)[-1]
    return "rest:" + tail.removesuffix(".json").split("/")[0] if "/admin/api/" in path else path


def create_app(shop: ShopRuntime) -> Starlette:
    """An app serving `shop`; the handlers find it at `request.app.state.shop`."""
    routes = [
        Route(f"{API}/graphql.json", graphql_endpoint, methods=["POST"]),
        Route(f"{API}/products.json", rest.products, methods=["GET"]),
        Route(f"{API}/variants/{{variant_id:int}}.json", rest.variant, methods=["GET"]),
        Route(f"{API}/inventory_levels.json", rest.inventory_levels, methods=["GET"]),
        Route(f"{API}/inventory_levels/set.json", rest.set_inventory_level, methods=["POST"]),
        Route("/_bulk/{name}", bulk.download, methods=["GET"]),
        *control.routes(),
    ]
    middleware = [Middleware(FaultMiddleware, faults=shop.faults, counter=shop.requests,
                             error=control.fault_response, label=route_label)]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.shop = shop
    return app
