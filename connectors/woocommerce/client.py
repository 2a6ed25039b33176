"""The WooCommerce REST v3 adapter: authenticated requests (Basic over https, OAuth 1.0a over http),
error messages, lazy pagination.

Every request goes through `connectors.http.call` (retries, Retry-After) after taking one
point from the account's `default` rate bucket (a store limits requests, not APIs). WooCommerce's error body
`{"code", "message", "data": {"status"}}` becomes the error message, so an operator reads
the store's own words.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from connectors.budget import DEFAULT_BUCKET, Budgets
from connectors.errors import Rejected
from connectors.http import HttpPolicy, call, charged, classify, make_client
from connectors.woocommerce.oauth import WooCommerceOAuth1

API = "wp-json/wc/v3"
TRACKING_API = "wp-json/wc-shipment-tracking/v3"
PER_PAGE = 100


def describe(response: httpx.Response) -> str:
    """The platform's own message for a failed response, e.g. `Invalid ID. (woocommerce_rest_..., 404)`."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        code = body.get("code") or "error"
        return f"{body['message']} ({code}, HTTP {response.status_code})"
    return f"HTTP {response.status_code}"


def error_code(response: httpx.Response) -> str | None:
    """The WooCommerce error code of a response body, if it has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("code")) if isinstance(body, dict) and body.get("code") else None


def store_auth(base_url: str, consumer_key: str, consumer_secret: str, signature_method: str) -> httpx.Auth:
    """HTTP Basic over https; over plain http WooCommerce only accepts OAuth 1.0a signatures."""
    if httpx.URL(base_url).scheme == "https":
        return httpx.BasicAuth(consumer_key, consumer_secret)
    return WooCommerceOAuth1(consumer_key, consumer_secret, signature_method=signature_method)


class WooClient:
    """Requests against one store; paths are relative to `/wp-json/wc/v3/` unless absolute API roots."""

    def __init__(self, base_url: str, *, consumer_key: str, consumer_secret: str, where: str,
                 policy: HttpPolicy, budgets: Budgets, transport: httpx.BaseTransport | None = None,
                 page_size: int = PER_PAGE, signature_method: str = "HMAC-SHA256") -> None:
        self.where, self.policy, self.budgets = where, policy, budgets
        self.budget = budgets(DEFAULT_BUCKET)
        self.page_size = min(max(page_size, 1), PER_PAGE)
        self.http = make_client(base_url.rstrip("/") + "/", policy=policy, transport=transport,
                                auth=store_auth(base_url, consumer_key, consumer_secret, signature_method))
        self.calls = 0

    def close(self) -> None:
        self.http.close()

    def send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
             json: Any = None, api: str = API, what: str = "", allow_404: bool = False) -> httpx.Response:
        """One classified request (retried when transient); returns the 2xx response.

        With `allow_404` a 404 answer is returned instead of raised (route and id detection).
        """
        where = self.where + (f", {what}" if what else f", {method} {path}")
        url = f"{api}/{path.lstrip('/')}" if path else api

        def attempt() -> httpx.Response:
            self.budget.reserve(1)
            self.calls += 1
            response = None
            try:
                response = self.http.request(method, url, params=dict(params or {}), json=json)
            finally:
                self.budget.settle(1, charged=charged(response))
            if allow_404 and response.status_code == 404:
                return response
            classify(response, where, describe=describe)
            return response

        return call(attempt, where=where, policy=self.policy, budgets=self.budgets)

    def get(self, path: str, *, params: Mapping[str, Any] | None = None, api: str = API,
            what: str = "") -> Any:
        return self.send("GET", path, params=params, api=api, what=what).json()

    def post(self, path: str, body: Any, *, api: str = API, what: str = "") -> Any:
        return self.send("POST", path, json=body, api=api, what=what).json()

    def put(self, path: str, body: Any, *, what: str = "") -> Any:
        return self.send("PUT", path, json=body, what=what).json()

    def delete(self, path: str, *, params: Mapping[str, Any] | None = None, what: str = "") -> Any:
        return self.send("DELETE", path, params=params, what=what).json()

    def pages(self, path: str, *, params: Mapping[str, Any] | None = None,
              what: str = "") -> Iterator[list[dict[str, Any]]]:
        """Pages of a collection, fetched one at a time as the caller consumes them.

        Stops at `X-WP-TotalPages` (or at the first short page when the header is missing).
        """
        page = 1
        while True:
            query = {**(params or {}), "page": page, "per_page": self.page_size}
            response = self.send("GET", path, params=query, what=what or f"GET {path} page {page}")
            items = response.json()
            if not isinstance(items, list):
                raise Rejected(self.where, f"GET {path} page {page}: expected a list, got {type(items).__name__}")
            if items:
                yield items
            total = response.headers.get("X-WP-TotalPages")
            last = int(total) if total and total.isdigit() else (page if len(items) < self.page_size else page + 1)
            if page >= last or not items:
                return
            page += 1

