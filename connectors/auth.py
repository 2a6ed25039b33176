"""Authentication as `httpx.Auth` flows: they run on every attempt, retries included.

Building blocks for request signing (most marketplace gateways sign a sorted parameter string):

- `sorted_concat(params)`  `k1v1k2v2…` (Taobao, JD, Pinduoduo: wrap with the secret and md5);
- `sorted_query(params)`   `k1=v1&k2=v2…` (Kuaishou: then `&signSecret=…`);
- `md5_hex`, `hmac_hex`, `hmac_base64` digests (`.upper()` where the platform wants upper case);
- `SignedParameters`       the flow: adds the common parameters (timestamp, app key, method…,
                           computed afresh per attempt so a retry is never sent with a stale
                           timestamp), signs every parameter of the request, and sends it.

Tokens that expire: `TokenRefresh` fetches a token through the same client (so tests and
simulators see the refresh request), reuses it across connectors of one account in this process
until shortly before it expires, and on an answer that says "expired" (401 by default, or a code in
an HTTP 200 body) refreshes once and sends the request again. A refresh that fails raises
`AuthFailed`.

The existing schemes: Shopify sends `X-Shopify-Access-Token` (`HeaderToken`), WooCommerce over
https sends Basic auth (`httpx.BasicAuth`) and over http OAuth 1.0a (`connectors.woocommerce.oauth`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal
from urllib.parse import parse_qsl, urlencode

import httpx

FORM = "application/x-www-form-urlencoded"


def _signable(params: Mapping[str, str], exclude: Iterable[str]) -> list[tuple[str, str]]:
    skipped = set(exclude)
    return sorted((k, v) for k, v in params.items() if k not in skipped)


def sorted_concat(params: Mapping[str, str], *, exclude: Iterable[str] = ("sign",)) -> str:
    """Names in ASCII order, each followed by its value, no separators."""
    return "".join(f"{k}{v}" for k, v in _signable(params, exclude))


def sorted_query(params: Mapping[str, str], *, exclude: Iterable[str] = ("sign",)) -> str:
    """`k=v` pairs in ASCII order of names, joined with `&`, not URL-encoded."""
    return "&".join(f"{k}={v}" for k, v in _signable(params, exclude))


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def hmac_hex(secret: str, text: str, algorithm: Literal["md5", "sha1", "sha256"] = "sha256") -> str:
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), algorithm).hexdigest()


def hmac_base64(secret: str, text: str, algorithm: Literal["md5", "sha1", "sha256"] = "sha256") -> str:
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), algorithm).digest()
    return base64.b64encode(digest).decode("ascii")


def _form(request: httpx.Request) -> dict[str, str]:
    if FORM not in request.headers.get("content-type", ""):
        return {}
    return dict(parse_qsl(request.read().decode("utf-8"), keep_blank_values=True))


class SignedParameters(httpx.Auth):
    """Sign every parameter of a request (query, form body, and the raw body under `body_param`).

    `common()` gives the parameters every call carries (timestamp, app key, session…); they and the
    signature go where `place` says: the query string or the form body. `sign(params)` returns the
    signature over all of them; it is sent as `sign_param`.
    """

    def __init__(self, sign: Callable[[Mapping[str, str]], str], *,
                 common: Callable[[httpx.Request], Mapping[str, str]] = lambda request: {},
                 place: Literal["query", "form"] = "query", sign_param: str = "sign",
                 body_param: str | None = None) -> None:
        self.sign, self.common, self.place = sign, common, place
        self.sign_param, self.body_param = sign_param, body_param

    def signed(self, request: httpx.Request) -> httpx.Request:
        query = dict(request.url.params)
        form = _form(request)
        params = {**query, **form, **self.common(request)}
        if self.body_param and not form:
            params[self.body_param] = request.read().decode("utf-8")
        params[self.sign_param] = self.sign(params)
        if self.place == "form" or form:
            body = {k: v for k, v in params.items() if k not in query and k != self.body_param}
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "content-type")}
            return httpx.Request(request.method, request.url, headers=headers, data=body,
                                 extensions=request.extensions)
        added = {k: v for k, v in params.items() if k not in query and k != self.body_param}
        request.url = request.url.copy_merge_params(added)
        return request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield self.signed(request)


class HeaderToken(httpx.Auth):
    """A fixed credential in one header (Shopify's `X-Shopify-Access-Token`)."""

    def __init__(self, header: str, value: str) -> None:
        self.header, self.value = header, value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.header] = self.value
        yield request


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float | None = None  # time.time() seconds; None = until the platform says otherwise

    def fresh(self, margin_s: float) -> bool:
        return self.expires_at is None or time.time() < self.expires_at - margin_s


def apply_query(name: str) -> Callable[[httpx.Request, str], httpx.Request]:
    """Send the token as query parameter `name` (WeChat `access_token=`)."""
    def apply(request: httpx.Request, token: str) -> httpx.Request:
        request.url = request.url.copy_set_param(name, token)
        return request
    return apply


def apply_header(name: str = "Authorization", template: str = "Bearer {token}") -> Callable[[httpx.Request, str],
                                                                                             httpx.Request]:
    def apply(request: httpx.Request, token: str) -> httpx.Request:
        request.headers[name] = template.format(token=token)
        return request
    return apply


def is_401(response: httpx.Response) -> bool:
    return response.status_code == 401


class TokenRefresh(httpx.Auth):
    """An access token fetched when missing or about to expire, and again when an answer says expired.

    `refresh_request()` builds the token request (sent through the same client); `parse(response)`
    returns the `Token` or raises `AuthFailed`. `expired(response)` recognises an expired-token
    answer (set `requires_response_body` semantics: the body is read, so codes inside HTTP 200
    bodies work). Tokens are shared per `key` (the account) within the process.
    """

    requires_response_body = True
    _shared: ClassVar[dict[str, Token]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, key: str, refresh_request: Callable[[], httpx.Request],
                 parse: Callable[[httpx.Response], Token], *,
                 apply: Callable[[httpx.Request, str], httpx.Request] | None = None,
                 expired: Callable[[httpx.Response], bool] = is_401, margin_s: float = 60.0) -> None:
        self.key, self.refresh_request, self.parse = key, refresh_request, parse
        self.apply = apply or apply_header()
        self.expired, self.margin_s = expired, margin_s
        self.refreshes = 0

    def _cached(self) -> Token | None:
        with self._lock:
            token = self._shared.get(self.key)
        return token if token is not None and token.fresh(self.margin_s) else None

    def _store(self, token: Token | None) -> None:
        with self._lock:
            if token is None:
                self._shared.pop(self.key, None)
            else:
                self._shared[self.key] = token

    def _refresh(self) -> Generator[httpx.Request, httpx.Response, Token]:
        self.refreshes += 1
        response = yield self.refresh_request()
        response.read()
        token = self.parse(response)
        self._store(token)
        return token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._cached()
        if token is None:
            token = yield from self._refresh()
        response = yield self.apply(request, token.value)
        if self.expired(response):
            self._store(None)
            token = yield from self._refresh()
            yield self.apply(request, token.value)

    @classmethod
    def forget(cls, key: str) -> None:
        """Drop the process's token for `key` (tests, a credential change)."""
        with cls._lock:
            cls._shared.pop(key, None)


def form_body(params: Mapping[str, str]) -> bytes:
    """A form body from parameters (for `refresh_request` builders)."""
    return urlencode(dict(params)).encode("ascii")
