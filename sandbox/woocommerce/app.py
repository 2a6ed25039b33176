"""The Starlette app of one simulated store: middleware, routes and error handlers.

Request path, outermost first: fault injection and counting (runtime.FaultMiddleware), the
host's request limit, WooCommerce key authentication (Basic over https, OAuth 1.0a), then the REST routes. `/_sandbox/`
control routes skip faults, the limit and auth.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import re
import threading

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

from sandbox.runtime import Clock, FaultMiddleware, Faults, RequestCounter
from sandbox.woocommerce import api_misc, api_orders, api_products, control
from sandbox.woocommerce.context import Options, Sim
from sandbox.woocommerce.errors import WooError, fault_response, no_route, too_many_requests
from sandbox.woocommerce.oauth import OAuthVerifier, header_parameters, php_query

NUMERIC_SEGMENT = re.compile(r"/\d+")


def is_control(request: Request) -> bool:
    return request.url.path.startswith("/_sandbox")


def route_label(request: Request) -> str:
    """`GET products/{id}` style labels for the request counter."""
    path = request.url.path
    for prefix in ("/wp-json/wc/v3/", "/wp-json/"):
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    return f"{request.method} {NUMERIC_SEGMENT.sub('/{id}', path.rstrip('/'))}"


class RequestLimiter:
    """At most `limit` requests per one-second window of the simulated clock."""

    def __init__(self, clock: Clock, options: Options) -> None:
        self.clock, self.options = clock, options
        self._lock = threading.Lock()
        self._window = -1
        self._used = 0

    def retry_after(self) -> float | None:
        """None when the request may pass, else real seconds until the window resets."""
        limit = self.options.request_limit
        if not limit:
            return None
        now = self.clock.monotonic()
        with self._lock:
            window = math.floor(now)
            if window != self._window:
                self._window, self._used = window, 0
            self._used += 1
            if self._used <= limit:
                return None
        return max((window + 1 - now) / self.clock.factor, 0.001)


class LimitMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: object, *, limiter: RequestLimiter) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.limiter = limiter

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if not is_control(request):
            wait = self.limiter.retry_after()
            if wait is not None:
                seconds = math.ceil(wait) if self.limiter.clock.factor <= 1 else round(wait, 3)
                return too_many_requests(seconds).response()
        return await call_next(request)


class AuthMiddleware(BaseHTTPMiddleware):
    """WooCommerce REST keys: HTTP Basic or `consumer_key`/`consumer_secret` query arguments over
    https only; OAuth 1.0a one-legged signatures (sandbox/woocommerce/oauth.py) over http and https.

    Wrong keys are refused here (as WooCommerce's authentication filter does for every route); no
    usable keys leave the request anonymous for each route's permission check. The simulator itself
    serves plain http, so a client must sign; a request that reached it through a TLS-terminating
    proxy (`X-Forwarded-Proto: https` from loopback, which uvicorn trusts) counts as https.
    """

    def __init__(self, app: object, *, sim: Sim) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.sim = sim
        self.oauth = OAuthVerifier(lambda: {sim.options.consumer_key: sim.options.consumer_secret})

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request.state.authenticated = False
        if not is_control(request):
            try:
                request.state.authenticated = await self._authenticate(request)
            except WooError as refused:
                return refused.response()
        return await call_next(request)

    async def _authenticate(self, request: Request) -> bool:
        if request.url.scheme == "https" and self._basic(request):
            return True
        params = php_query(request.url.query)
        if request.headers.get("content-type", "").split(";")[0].strip() == "application/x-www-form-urlencoded":
            params |= php_query((await request.body()).decode("utf-8", "replace"))
        params |= header_parameters(request.headers.get("authorization", ""))
        home = self.sim.store.base_url or str(request.base_url)
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        return self.oauth.authenticate(method=request.method, home_url=home, path=raw_path.decode("latin-1"),
                                       params=params)

    def _basic(self, request: Request) -> bool:
        credentials = self._credentials(request)
        if credentials is None:
            return False
        key, secret = credentials
        if key != self.sim.options.consumer_key:
            return False  # WooCommerce then tries OAuth, and without it the caller is anonymous
        if not hmac.compare_digest(secret, self.sim.options.consumer_secret):
            raise WooError("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)
        return True

    @staticmethod
    def _credentials(request: Request) -> tuple[str, str] | None:
        query = request.query_params
        if query.get("consumer_key") and query.get("consumer_secret"):
            return query["consumer_key"], query["consumer_secret"]
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            key, _, secret = decoded.partition(":")
            return (key, secret) if key and secret else None
        return None


async def woo_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WooError)
    return exc.response()


async def http_error(request: Request, exc: Exception) -> Response:
    """WordPress answers unknown routes and wrong methods alike with `rest_no_route` 404."""
    if isinstance(exc, HTTPException) and exc.status_code in (404, 405):
        return no_route().response()
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = "There has been a critical error on this website."
    return WooError("internal_server_error", message, status).response()


def create_app(sim: Sim, controller: control.Controller, *, clock: Clock, faults: Faults,
               counter: RequestCounter) -> Starlette:
    """One store's ASGI app; `sim` and `controller` are reachable from `app.state`."""
    middleware = [
        Middleware(FaultMiddleware, faults=faults, counter=counter, error=fault_response, label=route_label),
        Middleware(LimitMiddleware, limiter=RequestLimiter(clock, sim.options)),
        Middleware(AuthMiddleware, sim=sim),
    ]
    routes = [*api_products.ROUTES, *api_orders.ROUTES, *api_misc.ROUTES, *control.ROUTES]
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={WooError: woo_error, HTTPException: http_error})
    app.state.sim = sim
    app.state.controller = controller
    return app
