"""OAuth 1.0a "one-legged" request signing, as WooCommerce requires for a store served over plain http.

WooCommerce accepts HTTP Basic auth only over https; over http every request carries
`oauth_consumer_key`, `oauth_timestamp`, `oauth_nonce`, `oauth_signature_method` and `oauth_signature`
in its query string (there is no token). The signature is HMAC-SHA1 or HMAC-SHA256, keyed with
`consumer_secret + "&"`, over the RFC 5849 base string:

    METHOD & encode(scheme://host[:port]/path) & encode(sorted "encode(k)=encode(v)" joined by "&")

with the request's query (and form body) parameters and the oauth ones, sorted by name. The store
refuses a timestamp more than 15 minutes off and a nonce it has seen, so each attempt, retries
included, is signed afresh: that is why this is an `httpx.Auth` flow and not a fixed header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Generator, Iterable
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode

import httpx

SIGNATURE_METHODS = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
FORM = "application/x-www-form-urlencoded"


def percent_encode(text: str) -> str:
    """RFC 3986 encoding: everything but `A-Z a-z 0-9 - . _ ~` as %XX of its UTF-8 bytes."""
    return quote(text, safe="~")


def base_string_uri(url: httpx.URL) -> str:
    """`scheme://host[:port]/path`: no query, no fragment, default ports left out."""
    path = url.raw_path.split(b"?", 1)[0].decode("ascii") or "/"
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme.lower()}://{url.host.lower()}{port}{path}"


def signature_base_string(method: str, uri: str, parameters: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 §3.4.1: each name and value encoded, `name=value` joined by `&`, the whole encoded.

    Parameters are sorted by their raw names, as WooCommerce does (`uksort` with `strcmp`); for
    the names the connector sends this is also RFC 5849's order of encoded names.
    """
    pairs = sorted(parameters, key=lambda pair: (pair[0].encode(), pair[1].encode()))
    normalised = "&".join(f"{percent_encode(name)}={percent_encode(value)}" for name, value in pairs)
    return "&".join((method.upper(), percent_encode(uri), percent_encode(normalised)))


def sign(base_string: str, key: str, signature_method: str) -> str:
    """The base64 HMAC of `base_string` under `key` ("consumer_secret&" for WooCommerce)."""
    digest = hmac.new(key.encode(), base_string.encode(), SIGNATURE_METHODS[signature_method]).digest()
    return base64.b64encode(digest).decode("ascii")


def without_oauth(query: str) -> str:
    """The query string minus any oauth_* parameter (a followed `Link` carries the last request's)."""
    kept = [part for part in query.split("&") if part and not unquote_plus(part.split("=", 1)[0]).startswith("oauth_")]
    return "&".join(kept)


def request_parameters(query: str, request: httpx.Request) -> list[tuple[str, str]]:
    """The query parameters, and a form body's, as the store decodes them."""
    found = parse_qsl(query, keep_blank_values=True)
    if request.headers.get("content-type", "").split(";")[0].strip() == FORM:
        found += parse_qsl(request.content.decode("utf-8"), keep_blank_values=True)
    names = [name for name, _ in found]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        # PHP keeps only the last of a repeated name, so the store would verify another string.
        raise ValueError(f"cannot sign a request that repeats the parameter(s) {', '.join(repeated)}")
    return found


class WooCommerceOAuth1(httpx.Auth):
    """Signs every request (each retry anew) with WooCommerce's one-legged OAuth 1.0a."""

    requires_request_body = True

    def __init__(self, consumer_key: str, consumer_secret: str, *, signature_method: str = "HMAC-SHA256",
                 clock: Callable[[], float] = time.time, nonce: Callable[[], str] | None = None) -> None:
        if signature_method not in SIGNATURE_METHODS:
            raise ValueError(f"signature method must be one of {', '.join(SIGNATURE_METHODS)}, "
                             f"got {signature_method!r}")
        self._consumer_key, self._consumer_secret = consumer_key, consumer_secret
        self.signature_method = signature_method
        self._clock = clock
        self._nonce = nonce or (lambda: secrets.token_hex(16))

    def __repr__(self) -> str:  # never the secret
        return f"WooCommerceOAuth1({self.signature_method})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        oauth = [("oauth_consumer_key", self._consumer_key), ("oauth_nonce", self._nonce()),
                 ("oauth_signature_method", self.signature_method),
                 ("oauth_timestamp", str(int(self._clock())))]
        query = without_oauth(request.url.query.decode("ascii"))
        base = signature_base_string(request.method, base_string_uri(request.url),
                                     [*request_parameters(query, request), *oauth])
        signed = [*oauth, ("oauth_signature", sign(base, self._consumer_secret + "&", self.signature_method))]
        extra = urlencode(signed, quote_via=quote, safe="~")
        request.url = request.url.copy_with(query=(f"{query}&{extra}" if query else extra).encode("ascii"))
        yield request
