"""The signed JOS client: one form POST to `/routerjson` per call, business parameters as the
`360buy_param_json` text, `upper(md5(secret + Σ sorted(k+v) + secret))` over every parameter sent.

Gateway errors (`error_response` with `code`, `zh_desc`) are classified here; refusals reported
inside a method's result (`apiResult.success=false` and the like) are the caller's to read.
JD documents no rate-limit code: the `rate_limit_codes` option says which codes mean "wait".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from connectors.auth import SignedParameters, md5_hex, sorted_concat
from connectors.budget import Budgets
from connectors.errors import Transient
from connectors.http import ErrorTable, HttpPolicy, Outcome, call, charged, classify, error_for, make_client

CHINA = timezone(timedelta(hours=8))
GATEWAY = "https://api.jd.com/routerjson"
RATE_LIMIT_WAIT_S = 1.0
BASE_CODES: ErrorTable = {
    "11": Outcome.AUTH_FAILED, "12": Outcome.AUTH_FAILED, "19": Outcome.AUTH_FAILED, "21": Outcome.AUTH_FAILED,
    "24": Outcome.AUTH_FAILED, "65": Outcome.TRANSIENT,
}


def jd_time(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def response_root(method: str) -> str:
    if method == "360buy.get.vender.all.delivery.company":
        return "vender_delivery_all_company_response"
    return method.replace(".", "_") + "_responce"


def sign(params: Mapping[str, str], app_secret: str) -> str:
    """`upper(md5(secret + Σ sorted(name + value) + secret))` over every parameter sent but `sign`."""
    return md5_hex(app_secret + sorted_concat(params) + app_secret).upper()


class JosClient:
    def __init__(self, *, gateway: str, app_key: str, app_secret: str, access_token: str,
                 rate_limit_codes: Iterable[str], where: Callable[[str], str], policy: HttpPolicy, budgets: Budgets,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.gateway, self.where, self.policy, self.budgets = gateway, where, policy, budgets
        self.codes: ErrorTable = {**BASE_CODES, **dict.fromkeys(rate_limit_codes, Outcome.RATE_LIMITED)}

        def common(request: httpx.Request) -> dict[str, str]:
            return {"app_key": app_key, "access_token": access_token, "timestamp": jd_time(datetime.now(UTC)),
                    "v": "2.0"}

        auth = SignedParameters(lambda p: sign(p, app_secret), common=common, place="form")
        self.http = make_client(gateway, policy=policy, transport=transport, auth=auth)
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, business: Mapping[str, Any] | None = None, *, what: str = "") -> dict[str, Any]:
        where = self.where(what or method)
        form = {"method": method, "360buy_param_json": json.dumps(dict(business or {}), ensure_ascii=False,
                                                                  separators=(",", ":"))}
        return call(lambda: self._attempt(method, form, where), where=where, policy=self.policy,
                    budgets=self.budgets, bucket=method)

    def _attempt(self, method: str, form: dict[str, str], where: str) -> dict[str, Any]:
        budget = self.budgets(method)
        budget.reserve(1)
        self.requests += 1
        response = None
        try:
            response = self.http.post(self.gateway, data=form)
        finally:
            budget.settle(1, charged=charged(response))
        classify(response, where)
        try:
            body = response.json()
        except ValueError:
            raise Transient(where, f"JOS answered HTTP {response.status_code} with a body that is not JSON") from None
        error = body.get("error_response")
        if isinstance(error, dict):
            code = str(error.get("code", ""))
            message = f"{error.get('zh_desc') or error.get('en_desc') or 'JOS error'} (code {code})"
            outcome = self.codes.get(code, Outcome.REJECTED)
            raise error_for(outcome, where, message, code=code,
                            retry_after=RATE_LIMIT_WAIT_S if outcome is Outcome.RATE_LIMITED else None)
        result = body.get(response_root(method))
        if not isinstance(result, dict):
            raise Transient(where, f"JOS's answer has no {response_root(method)}")
        return result
