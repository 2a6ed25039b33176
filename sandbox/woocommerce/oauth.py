"""How a WooCommerce store authenticates a REST request that arrives over plain http.

WordPress tries HTTP Basic (or `consumer_key`/`consumer_secret` query arguments) only when the
request came over https (`is_ssl()`); over http the only way in is OAuth 1.0a one-legged: the oauth
parameters in the query string, a form body or an `Authorization: OAuth` header. The checks, in the
order WooCommerce makes them (`WC_REST_Authentication`), each failure a 401:

1. some but not all of consumer key, timestamp, nonce, signature, signature method:
   `woocommerce_rest_authentication_missing_parameter`;
2. an unknown consumer key; 3. a signature method other than HMAC-SHA1/HMAC-SHA256;
4. a signature that does not match; 5. a timestamp more than 15 minutes from now;
6. a nonce this key used within the last 15 minutes — all `woocommerce_rest_authentication_error`.

A request with no oauth parameters at all stays anonymous, and the route's permission check answers it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl, quote, unquote

from sandbox.woocommerce.errors import WooError

WINDOW_SECONDS = 15 * 60
REQUIRED = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method")
HASHES = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
HEADER_PARAMETER = re.compile(r'(oauth_[a-z_-]*)=(?:"([^"]*)"|([^,]*))')


def _refused(message: str, code: str = "woocommerce_rest_authentication_error") -> WooError:
    return WooError(code, message, 401)


def php_query(text: str) -> dict[str, str]:
    """A query string decoded the way PHP fills `$_GET`: `+` is a space, the last of a repeated name wins."""
    return dict(parse_qsl(text, keep_blank_values=True))


def header_parameters(header: str) -> dict[str, str]:
    """The oauth_* parameters of an `Authorization: OAuth k="v", …` header."""
    header = header.strip()
    if not header.startswith("OAuth "):
        return {}
    return {name: unquote(quoted or bare) for name, quoted, bare in HEADER_PARAMETER.findall(header)}


def rawurlencode(text: str) -> str:
    return quote(text, safe="-_.~")


def expected_signature(method: str, home_url: str, path: str, params: Mapping[str, str], secret: str) -> str:
    """WooCommerce's own signature for the request, from every parameter but the signature."""
    signed = {name: value for name, value in params.items() if name != "oauth_signature"}
    pairs = [rawurlencode(f"{rawurlencode(name)}={rawurlencode(signed[name])}")
             for name in sorted(signed, key=lambda name: name.encode())]
    string_to_sign = f"{method.upper()}&{rawurlencode(home_url.rstrip('/') + path)}&{'%26'.join(pairs)}"
    digest_of = HASHES[signed["oauth_signature_method"]]
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), digest_of).digest()
    return base64.b64encode(digest).decode("ascii")


class OAuthVerifier:
    """One store's OAuth 1.0a check, with the nonces each key used in the last 15 minutes."""

    def __init__(self, consumers: Callable[[], Mapping[str, str]], *, now: Callable[[], float] = time.time) -> None:
        self._consumers = consumers  # consumer key -> consumer secret, read on each request
        self._now = now
        self._lock = threading.Lock()
        self._nonces: dict[str, dict[str, float]] = {}

    def authenticate(self, *, method: str, home_url: str, path: str, params: Mapping[str, str]) -> bool:
        """True when the request is signed correctly; False when it carries no oauth parameters at all.

        Raises WooError (401) when it tries OAuth and fails.
        """
        missing = [name for name in REQUIRED if not params.get(name)]
        if len(missing) == len(REQUIRED):
            return False
        if missing:
            noun = "parameter" if len(missing) == 1 else "parameters"
            raise _refused(f"Missing OAuth {noun} {', '.join(missing)}",
                           "woocommerce_rest_authentication_missing_parameter")
        secret = self._consumers().get(params["oauth_consumer_key"])
        if secret is None:
            raise _refused("Consumer key is invalid.")
        if params["oauth_signature_method"] not in HASHES:
            raise _refused("Invalid signature - signature method is invalid.")
        provided = unquote(params["oauth_signature"].replace(" ", "+"))
        if not hmac.compare_digest(expected_signature(method, home_url, path, params, secret), provided):
            raise _refused("Invalid signature - provided signature does not match.")
        self._check_timestamp_and_nonce(params["oauth_consumer_key"], params["oauth_timestamp"],
                                        params["oauth_nonce"])
        return True

    def _check_timestamp_and_nonce(self, key: str, timestamp: str, nonce: str) -> None:
        now = self._now()
        try:
            stamp = int(timestamp)
        except ValueError:
            raise _refused("Invalid timestamp.") from None
        if not now - WINDOW_SECONDS <= stamp <= now + WINDOW_SECONDS:
            raise _refused("Invalid timestamp.")
        with self._lock:
            used = self._nonces.setdefault(key, {})
            for old in [n for n, seen in used.items() if seen < now - WINDOW_SECONDS]:
                del used[old]
            if nonce in used:
                raise _refused("Invalid nonce - nonce has already been used.")
            used[nonce] = now
