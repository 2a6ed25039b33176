"""The 快手 open-platform adapter: signed calls on each API's declared HTTP verb, and the error table.

`SignedParameters` adds `appkey`, `method`, `version=1`, `access_token`, `timestamp` (ms),
`signMethod` and `sign` (sorted `k=v&…&signSecret=`, HMAC_SHA256 → Base64 or MD5 → hex) on every
attempt: to the query of a GET, to the form body of a POST. Answers carry `result` (1 = success)
and `error_msg`. Each API is its own rate bucket.

`send_once` is for writes the platform cannot recognise as repeats (stock deltas): it never
retries, and tells an answer apart from a call whose fate is unknown (timeout, 5xx, connection
lost after sending).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from connectors.auth import SignedParameters, hmac_base64, md5_hex, sorted_query
from connectors.budget import Budgets
from connectors.errors import ConnectorError, RateLimited, Transient
from connectors.http import HttpPolicy, Outcome, call, charged, classify, error_for, make_client
from connectors.liveshop.deltas import Answer

DEFAULT_BASE_URL = "https://openapi.kwaixiaodian.com"
SIGNED = ("access_token", "appkey", "method", "param", "signMethod", "timestamp", "version")
RESERVED_STOCK = 21
QUOTA_WAIT_S = 3600.0


def outcome(result: int, message: str) -> tuple[Outcome, float | None]:
    """What a 快手 result means for the hub, and how long to wait when it is a rate limit."""
    lowered = message.lower()
    if result in (24, 28) or "鉴权失败" in message or "验签失败" in message:
        return Outcome.AUTH_FAILED, None
    if "exceed quota limit" in lowered or result == 1017:
        return Outcome.RATE_LIMITED, QUOTA_WAIT_S
    if "exceed qps limit" in lowered or result == 1016:
        return Outcome.RATE_LIMITED, 1.0
    if result == 50:
        return Outcome.TRANSIENT, None
    return Outcome.REJECTED, None


def error(body: Mapping[str, Any], where: str) -> ConnectorError:
    result, message = int(body.get("result") or 0), str(body.get("error_msg") or body.get("msg") or "refused")
    kind, wait = outcome(result, message)
    return error_for(kind, where, f"{message} (result {result})", code=str(result), retry_after=wait)


class KuaishouClient:
    def __init__(self, base_url: str, *, app_key: str, sign_secret: str, access_token: str, sign_method: str,
                 where: str, policy: HttpPolicy, budgets: Budgets,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.where, self.policy, self.budgets = where, policy, budgets

        def sign(p: Mapping[str, str]) -> str:
            text = sorted_query({k: p[k] for k in SIGNED if k in p}) + f"&signSecret={sign_secret}"
            return hmac_base64(sign_secret, text) if sign_method == "HMAC_SHA256" else md5_hex(text)

        def common(request: httpx.Request) -> dict[str, str]:
            return {"appkey": app_key, "method": request.url.path.strip("/").replace("/", "."), "version": "1",
                    "access_token": access_token, "timestamp": str(int(time.time() * 1000)),
                    "signMethod": sign_method}

        self.http = make_client(base_url.rstrip("/"), policy=policy, transport=transport,
                                auth=SignedParameters(sign, common=common, place="query"))
        self.calls = 0

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, params: Mapping[str, Any], verb: str) -> httpx.Response:
        budget = self.budgets(method)
        budget.reserve(1)
        self.calls += 1
        path, param = "/" + method.replace(".", "/"), json.dumps(dict(params), separators=(",", ":"),
                                                                 ensure_ascii=False)
        response = None
        try:
            if verb == "POST":
                response = self.http.post(path, data={"param": param})
            else:
                response = self.http.get(path, params={"param": param})
            return response
        finally:
            budget.settle(1, charged=charged(response))

    def _body(self, response: httpx.Response, where: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise Transient(where, f"the gateway answered something that is not JSON (HTTP {response.status_code})"
                            ) from None
        if not isinstance(body, dict):
            raise Transient(where, "the gateway answered an unexpected shape")
        return body

    def request(self, method: str, params: Mapping[str, Any] | None = None, *, verb: str = "GET",
                what: str = "") -> Any:
        """`data` of one call, retried when transient (reads, and writes that are safe to repeat)."""
        where = f"{self.where}, {what or method}"

        def attempt() -> Any:
            response = self._send(method, params or {}, verb)
            classify(response, where)
            body = self._body(response, where)
            if body.get("result") == 1:
                return body.get("data")
            raise error(body, where)

        return call(attempt, where=where, policy=self.policy, budgets=self.budgets, bucket=method)

    def send_once(self, method: str, params: Mapping[str, Any], *, verb: str = "POST", what: str = "") -> Answer:
        """One attempt, never repeated. Raises for what leaves the platform untouched (a refused
        connection, a rate limit, bad credentials); returns the body, or no body when the fate of the
        call is unknown."""
        where = f"{self.where}, {what or method}"
        try:
            response = self._send(method, params, verb)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Transient(where, f"connection failed before sending ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            return Answer(None, f"no answer ({type(exc).__name__})")
        if response.status_code >= 500:
            return Answer(None, f"HTTP {response.status_code}")
        classify(response, where)
        try:
            body = self._body(response, where)
        except Transient as exc:
            return Answer(None, str(exc))
        if body.get("result") not in (1, RESERVED_STOCK):
            kind, _ = outcome(int(body.get("result") or 0), str(body.get("error_msg") or ""))
            if kind is Outcome.TRANSIENT:
                return Answer(None, f"result {body.get('result')}")
            if kind is not Outcome.REJECTED:
                failure = error(body, where)
                if isinstance(failure, RateLimited) and failure.retry_after:
                    self.budgets(method).pause(failure.retry_after)
                raise failure
        return Answer(body)
