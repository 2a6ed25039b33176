"""WordPress/WooCommerce error shapes: `{"code", "message", "data": {"status", ...}}`."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.runtime import Fault

NO_ROUTE = ("rest_no_route", "No route was found matching the URL and request method.")


class WPJSONResponse(JSONResponse):
    """JSON as WordPress's `wp_json_encode` writes it: compact, ASCII, slashes escaped."""

    def render(self, content: Any) -> bytes:
        return php_json(content)


def php_json(content: Any) -> bytes:
    text = json.dumps(content, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode()


class WooError(Exception):
    """An error the simulated store answers with, in WooCommerce's JSON shape."""

    def __init__(self, code: str, message: str, status: int = 400, *,
                 headers: dict[str, str] | None = None, **data: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.headers = headers or {}
        self.data = data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}

    def response(self) -> Response:
        return WPJSONResponse(self.body(), status_code=self.status, headers=self.headers)


def invalid_param(name: str, reason: str, code: str = "rest_invalid_param") -> WooError:
    """WordPress's answer to a request argument that fails its schema (400)."""
    return WooError("rest_invalid_param", f"Invalid parameter(s): {name}", 400,
                    params={name: reason}, details={name: {"code": code, "message": reason, "data": None}})


def missing_param(name: str) -> WooError:
    return WooError("rest_missing_callback_param", f"Missing parameter(s): {name}", 400, params=[name])


def invalid_id(resource: str, status: int = 404) -> WooError:
    """Unknown id, e.g. `woocommerce_rest_product_invalid_id`, `woocommerce_rest_shop_order_invalid_id`."""
    return WooError(f"woocommerce_rest_{resource}_invalid_id", "Invalid ID.", status)


def no_route() -> WooError:
    return WooError(*NO_ROUTE, 404)


def fault_response(request: Request, fault: Fault) -> Response:
    """What an injected fault looks like: a host/PHP error page turned into WP-style JSON."""
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = format_seconds(fault.retry_after)
    if fault.status == 429:
        return too_many_requests(fault.retry_after or 1.0).response()
    error = WooError("internal_server_error", "There has been a critical error on this website.",
                     fault.status, headers=headers)
    return error.response()


def too_many_requests(retry_after: float) -> WooError:
    seconds = format_seconds(retry_after)
    message = f"Too many requests. Please wait {seconds} seconds before trying again."
    return WooError("rate_limit_exceeded", message, 429, headers={"Retry-After": seconds})


def format_seconds(seconds: float) -> str:
    """Retry-After as whole seconds when it is at least one, else with millisecond precision."""
    if seconds >= 1 and float(seconds).is_integer():
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".") or "0"
