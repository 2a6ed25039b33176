"""The 抖店 open-platform adapter: signed gateway calls and the error table.

Every call is `POST {base}/{method with dots as slashes}` with the business parameters as the
body (JSON, sorted keys, no spaces); `SignedParameters` adds `app_key`, `method`, `timestamp`,
`v=2`, `sign_method`, `access_token` and `sign` to the query on every attempt, so a retry is never
sent with a stale timestamp. Answers are `{log_id, code, msg, sub_code, sub_msg, data}` with
code 10000 for success; the rest is mapped onto the hub's errors here. Each API method is its
own rate bucket.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from connectors.auth import SignedParameters, hmac_hex
from connectors.budget import Budgets
from connectors.errors import ConnectorError, Transient
from connectors.http import HttpPolicy, Outcome, call, charged, classify, error_for, make_client

DEFAULT_BASE_URL = "https://openapi-fxg.jinritemai.com"
SUCCESS = 10000
AUTH_SUB_CODES = frozenset({
    "isv.signature-invalid", "isv.signature-missing", "isv.app-id-missing", "isv.app-id-invalid",
    "isv.app-id-expired", "isv.access-token-missing", "isv.access-token-expired", "isv.access-token-no-existed",
    "isv.access-token-invalid", "isv.authorization-type-invalid"})
RATE_LIMIT_WAIT_S = 1.0


def param_json(params: Mapping[str, Any]) -> str:
    """The business parameters as the gateway signs them: sorted keys, no spaces, no HTML escaping."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def outcome(code: int, sub_code: str) -> Outcome:
    """What a 抖店 code means for the hub (the platform's basic code table)."""
    if code in (20000, 20001):
        return Outcome.TRANSIENT
    if code == 60000:
        return Outcome.RATE_LIMITED
    if code in (30001, 30002) or (code in (40001, 40003) and sub_code in AUTH_SUB_CODES):
        return Outcome.AUTH_FAILED
    return Outcome.REJECTED


def error(envelope: Mapping[str, Any], where: str) -> ConnectorError:
    code, sub_code = int(envelope.get("code") or 0), str(envelope.get("sub_code") or "")
    message = f"{envelope.get('sub_msg') or envelope.get('msg') or 'refused'} ({code} {sub_code})".strip()
    kind = outcome(code, sub_code)
    return error_for(kind, where, message, code=sub_code or str(code),
                     retry_after=RATE_LIMIT_WAIT_S if kind is Outcome.RATE_LIMITED else None)


class DouyinClient:
    def __init__(self, base_url: str, *, app_key: str, app_secret: str, access_token: str, where: str,
                 policy: HttpPolicy, budgets: Budgets, transport: httpx.BaseTransport | None = None) -> None:
        self.where, self.policy, self.budgets = where, policy, budgets

        def sign(p: Mapping[str, str]) -> str:
            pattern = (f"{app_secret}app_key{p['app_key']}method{p['method']}param_json{p['param_json']}"
                       f"timestamp{p['timestamp']}v{p['v']}{app_secret}")
            return hmac_hex(app_secret, pattern)

        def common(request: httpx.Request) -> dict[str, str]:
            return {"app_key": app_key, "method": request.url.path.strip("/").replace("/", "."),
                    "timestamp": str(int(time.time())), "v": "2", "sign_method": "hmac-sha256",
                    "access_token": access_token}

        auth = SignedParameters(sign, common=common, place="query", body_param="param_json")
        self.http = make_client(base_url.rstrip("/"), policy=policy, transport=transport, auth=auth,
                                headers={"Content-Type": "application/json"})
        self.calls = 0

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, params: Mapping[str, Any] | None = None, *, what: str = "") -> Any:
        """`data` of one API call (retried when transient; the same body is signed afresh each time)."""
        where = f"{self.where}, {what or method}"
        body = param_json(params or {}).encode()

        def attempt() -> Any:
            budget = self.budgets(method)
            budget.reserve(1)
            self.calls += 1
            response = None
            try:
                response = self.http.post("/" + method.replace(".", "/"), content=body)
            finally:
                budget.settle(1, charged=charged(response))
            classify(response, where)
            try:
                envelope = response.json()
            except ValueError:
                raise Transient(where, f"the gateway answered something that is not JSON (HTTP "
                                       f"{response.status_code})") from None
            if not isinstance(envelope, dict):
                raise Transient(where, "the gateway answered an unexpected shape")
            if envelope.get("code") == SUCCESS:
                return envelope.get("data")
            raise error(envelope, where)

        return call(attempt, where=where, policy=self.policy, budgets=self.budgets, bucket=method)
