"""OAuth 1.0a one-legged signing for WooCommerce stores on plain http, and Basic auth only over https.

The algorithm is checked against the published OAuth Core 1.0 example (Appendix A.5); the
connector's requests against the simulator, which verifies signatures as WooCommerce does.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import pytest

from connectors.base import AccountConfig
from connectors.errors import AuthFailed, Rejected
from connectors.http import HttpPolicy
from connectors.woocommerce import WooCommerceConnector
from connectors.woocommerce.oauth import WooCommerceOAuth1, sign, signature_base_string
from sandbox.woocommerce import WooCommerceSandbox

RETRYING = HttpPolicy(timeout_s=2, max_attempts=3, base_backoff_s=0.01, max_backoff_s=0.02)


def test_signature_matches_the_published_oauth_example() -> None:
    # OAuth Core 1.0, Appendix A.5.1/A.5.2 (a token is in that example; WooCommerce has none).
    parameters = [("file", "vacation.jpg"), ("size", "original"), ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
                  ("oauth_token", "nnch734d00sl2jdk"), ("oauth_signature_method", "HMAC-SHA1"),
                  ("oauth_timestamp", "1191242096"), ("oauth_nonce", "kllo9940pd9333jh"), ("oauth_version", "1.0")]
    base = signature_base_string("GET", "http://photos.example.net/photos", parameters)
    assert base == ("GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3D"
                    "dpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1%26"
                    "oauth_timestamp%3D1191242096%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26"
                    "size%3Doriginal")
    assert sign(base, "kd94hf93k423kf44&pfkkdhi9sl3r4s00", "HMAC-SHA1") == "tR3+Ty81lMeYAr/Fid0kMTYa/WM="


def captured(url: str, seen: list[httpx.Request], *, fail_first: int = 0) -> WooCommerceConnector:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) <= fail_first:
            return httpx.Response(503, json={"code": "busy", "message": "try later"})
        return httpx.Response(200, json={"value": "EUR"})

    account = AccountConfig("w", "woocommerce", {"url": url}, {"consumer_key": "ck_1", "consumer_secret": "cs_1"})
    return WooCommerceConnector(account, policy=RETRYING, transport=httpx.MockTransport(answer))


def test_an_https_store_gets_basic_auth_and_no_signature() -> None:
    seen: list[httpx.Request] = []
    assert captured("https://shop.example", seen).currency() == "EUR"
    assert seen[0].headers["Authorization"] == "Basic " + base64.b64encode(b"ck_1:cs_1").decode()
    assert b"oauth_" not in seen[0].url.query


def test_an_http_store_is_signed_and_never_sees_the_secret_and_each_retry_is_signed_anew() -> None:
    seen: list[httpx.Request] = []
    assert captured("http://shop.example:8080", seen, fail_first=1).currency() == "EUR"
    assert len(seen) == 2 and all("Authorization" not in request.headers for request in seen)
    first, retry = (parse_qs(request.url.query.decode()) for request in seen)
    assert first["oauth_consumer_key"] == ["ck_1"] and first["oauth_signature_method"] == ["HMAC-SHA256"]
    assert first["oauth_nonce"] != retry["oauth_nonce"]  # a replayed nonce would be refused
    assert all(b"cs_1" not in bytes(request.url.raw_path) for request in seen)


def test_an_unknown_signature_method_is_refused_when_the_connector_is_made() -> None:
    account = AccountConfig("w", "woocommerce", {"url": "http://shop.example", "signature_method": "PLAINTEXT"},
                            {"consumer_key": "ck", "consumer_secret": "cs"})
    with pytest.raises(Rejected, match="option 'signature_method' must be one of HMAC-SHA1, HMAC-SHA256"):
        WooCommerceConnector(account)


def test_a_repeated_parameter_is_refused_rather_than_signed_wrongly() -> None:
    flow = WooCommerceOAuth1("ck", "cs").auth_flow(httpx.Request("GET", "http://shop.example/x?a=1&a=2"))
    with pytest.raises(ValueError, match="repeats the parameter"):
        next(flow)


@pytest.mark.parametrize("method", ["HMAC-SHA1", "HMAC-SHA256"])
def test_the_connector_talks_to_an_http_store_with_signatures(method) -> None:
    with WooCommerceSandbox(seed=3) as woo:
        def connector(secret: str) -> WooCommerceConnector:
            account = AccountConfig("w", "woocommerce", {"url": woo.url, "signature_method": method},
                                    {"consumer_key": woo.consumer_key, "consumer_secret": secret})
            return WooCommerceConnector(account, policy=RETRYING)

        good = connector(woo.consumer_secret)
        assert good.health().ok and good.currency() == "EUR"
        assert sum(1 for _ in good.listings()) > 0
        with pytest.raises(AuthFailed, match="Invalid signature - provided signature does not match"):
            connector("cs_wrong").currency()
