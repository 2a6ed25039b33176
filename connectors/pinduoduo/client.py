"""The signed PDD client: every call a form POST to `/api/router` with `type=<api>`.

Auth is one `httpx.Auth` flow (`PddAuth`, a `connectors.auth.TokenRefresh`): it signs each attempt
(`upper(md5(secret + Σ sorted(k+v) + secret))`, fresh UNIX timestamp), sends the mall's access
token, and when PDD answers 10019 (token expired) it trades the refresh token for a new one
through the same gateway, once, and sends the call again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from connectors.auth import FORM, SignedParameters, Token, TokenRefresh, form_body, md5_hex, sorted_concat
from connectors.budget import Budgets
from connectors.errors import AuthFailed, Transient
from connectors.http import ErrorTable, HttpPolicy, Outcome, call, charged, classify, error_for, make_client

GATEWAY = "https://gw-api.pinduoduo.com/api/router"
EXPIRED = 10019
REFRESH = "pdd.pop.auth.token.refresh"

# PDD's common error codes (1xxxx/2xxxx the caller's, 5xxxx the platform's); unlisted codes are Rejected.
CODES: ErrorTable = {
    "10016": Outcome.AUTH_FAILED, "10019": Outcome.AUTH_FAILED, "20004": Outcome.AUTH_FAILED,
    "20005": Outcome.AUTH_FAILED, "20031": Outcome.AUTH_FAILED, "20032": Outcome.AUTH_FAILED,
    "50000": Outcome.TRANSIENT, "50002": Outcome.TRANSIENT, "52001": Outcome.TRANSIENT, "52002": Outcome.TRANSIENT,
    "52101": Outcome.RATE_LIMITED, "52102": Outcome.TRANSIENT, "52103": Outcome.TRANSIENT,
}
RATE_LIMIT_WAIT_S = 1.0  # 52101 carries no wait; a second, then the bucket's own pace


def response_root(api: str) -> str:
    """PDD names its roots itself; the common rule covers the APIs used here."""
    roots = {"pdd.order.number.list.increment.get": "order_sn_increment_get_response",
             "pdd.order.information.get": "order_info_get_response",
             "pdd.refund.list.increment.get": "refund_increment_get_response"}
    return roots.get(api, api.removeprefix("pdd.").replace(".", "_") + "_response")


def sign(params: Mapping[str, str], client_secret: str) -> str:
    """`upper(md5(secret + Σ sorted(name + value) + secret))`, every parameter but `sign`."""
    return md5_hex(client_secret + sorted_concat(params) + client_secret).upper()


def _error(response: httpx.Response) -> Mapping[str, Any] | None:
    try:
        body = json.loads(response.read() or b"{}")
    except ValueError:
        return None
    error = body.get("error_response") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def _expired(response: httpx.Response) -> bool:
    error = _error(response)
    return error is not None and str(error.get("error_code")) == str(EXPIRED)


class PddAuth(TokenRefresh):
    """Signs every attempt; the configured access token is used until PDD says it expired."""

    def __init__(self, *, key: str, client_id: str, client_secret: str, access_token: str,
                 refresh_token: str | None, gateway: str, where: Callable[[str], str]) -> None:
        self.signer = SignedParameters(lambda p: sign(p, client_secret), common=self._common, place="form")
        self.client_id, self.configured, self.refresh_token = client_id, access_token, refresh_token
        self.gateway, self.where_ = gateway, where
        self._token: str | None = None
        super().__init__(key, self._refresh_request, self._parse, apply=self._apply, expired=_expired)

    def _common(self, request: httpx.Request) -> dict[str, str]:
        common = {"client_id": self.client_id, "timestamp": str(int(time.time())), "data_type": "JSON"}
        if self._token is not None:
            common["access_token"] = self._token
        return common

    def _cached(self) -> Token | None:
        return super()._cached() or Token(self.configured)

    def _apply(self, request: httpx.Request, token: str) -> httpx.Request:
        self._token = token
        return self.signer.signed(request)

    def _refresh_request(self) -> httpx.Request:
        if not self.refresh_token:
            raise AuthFailed(self.where_("token refresh"), "the access token expired and no refresh_token is set")
        self._token = None
        request = httpx.Request("POST", self.gateway, content=form_body({"type": REFRESH,
                                                                         "refresh_token": self.refresh_token}),
                                headers={"content-type": FORM})
        return self.signer.signed(request)

    def _parse(self, response: httpx.Response) -> Token:
        error = _error(response)
        body = json.loads(response.read() or b"{}") if error is None else {}
        answer = body.get("pop_auth_token_refresh_response") if isinstance(body, dict) else None
        if not isinstance(answer, dict) or not answer.get("access_token"):
            detail = error.get("error_msg") if error else "no token in the answer"
            raise AuthFailed(self.where_("token refresh"), f"the refresh token was refused: {detail}")
        expires = answer.get("expires_in")
        return Token(str(answer["access_token"]), time.time() + float(expires) if expires else None)


class PddClient:
    def __init__(self, *, gateway: str, client_id: str, client_secret: str, access_token: str,
                 refresh_token: str | None, account_key: str, where: Callable[[str], str], policy: HttpPolicy,
                 budgets: Budgets, transport: httpx.BaseTransport | None = None) -> None:
        self.gateway, self.where, self.policy, self.budgets = gateway, where, policy, budgets
        self.auth = PddAuth(key=account_key, client_id=client_id, client_secret=client_secret,
                            access_token=access_token, refresh_token=refresh_token, gateway=gateway, where=where)
        self.http = make_client(gateway, policy=policy, transport=transport, auth=self.auth)
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    def call(self, api: str, params: Mapping[str, Any] | None = None, *, what: str = "") -> dict[str, Any]:
        where = self.where(what or api)
        form = {"type": api, **{k: str(v) for k, v in (params or {}).items() if v is not None}}
        return call(lambda: self._attempt(api, form, where), where=where, policy=self.policy, budgets=self.budgets,
                    bucket=api)

    def _attempt(self, api: str, form: dict[str, str], where: str) -> dict[str, Any]:
        budget = self.budgets(api)
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
            raise Transient(where, f"PDD answered HTTP {response.status_code} with a body that is not JSON") from None
        error = body.get("error_response")
        if isinstance(error, dict):
            code = str(error.get("error_code", ""))
            message = f"{error.get('sub_msg') or error.get('error_msg') or 'PDD error'} (code {code})"
            outcome = CODES.get(code, Outcome.REJECTED)
            raise error_for(outcome, where, message, code=code,
                            retry_after=RATE_LIMIT_WAIT_S if outcome is Outcome.RATE_LIMITED else None)
        result = body.get(response_root(api))
        if not isinstance(result, dict):
            raise Transient(where, f"PDD's answer has no {response_root(api)}")
        return result
