"""The 微信小店 API adapter: `POST /channels/ec/<path>?access_token=` JSON, tokens that expire, errcodes.

The access token comes from `POST /cgi-bin/stable_token` (one token for every worker until it
expires, unlike `/cgi-bin/token`, which would invalidate the others' tokens) through
`TokenRefresh`: fetched when missing or nearly expired, and again, once, when an answer says
42001 (expired) or 40001 (not the latest). Answers are HTTP 200 JSON with `errcode` (0 = ok) and
`errmsg`; the table below maps them onto the hub's errors. Each API path is its own rate bucket.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from connectors.auth import Token, TokenRefresh, apply_query
from connectors.budget import Budgets
from connectors.errors import AuthFailed, ConnectorError, RateLimited, Transient
from connectors.http import HttpPolicy, Outcome, call, charged, classify, error_for, make_client
from connectors.liveshop.deltas import Answer

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
TOKEN_EXPIRED = frozenset({42001, 40001, 40014})
AUTH = frozenset({40001, 40002, 40013, 40014, 40125, 41001, 42001, 48001, 61004})
STOCK_FREQUENCY, STOCK_SHORT = 10020112, 10020219
MINUTE_LIMIT_WAIT_S = 5.0


def _errcode(response: httpx.Response) -> int:
    try:
        body = response.json()
    except ValueError:
        return 0
    return int(body.get("errcode") or 0) if isinstance(body, dict) else 0


def outcome(errcode: int) -> tuple[Outcome, float | None]:
    if errcode == -1:
        return Outcome.TRANSIENT, None
    if errcode in AUTH:
        return Outcome.AUTH_FAILED, None
    if errcode == 45011:  # "retry next minute": pause the API a few seconds at a time, never a worker for a minute
        return Outcome.RATE_LIMITED, MINUTE_LIMIT_WAIT_S
    if errcode == 45009:
        return Outcome.RATE_LIMITED, 3600.0
    if errcode == STOCK_FREQUENCY:
        return Outcome.RATE_LIMITED, 1.0
    return Outcome.REJECTED, None


def error(body: Mapping[str, Any], where: str) -> ConnectorError:
    errcode = int(body.get("errcode") or 0)
    kind, wait = outcome(errcode)
    message = f"{str(body.get('errmsg') or 'refused').split(' rid:')[0]} (errcode {errcode})"
    return error_for(kind, where, message, code=str(errcode), retry_after=wait)


class WechatClient:
    def __init__(self, base_url: str, *, appid: str, secret: str, where: str, policy: HttpPolicy, budgets: Budgets,
                 token_key: str, transport: httpx.BaseTransport | None = None) -> None:
        self.where, self.policy, self.budgets = where, policy, budgets
        base = base_url.rstrip("/")

        def refresh_request() -> httpx.Request:
            return httpx.Request("POST", f"{base}/cgi-bin/stable_token",
                                 json={"grant_type": "client_credential", "appid": appid, "secret": secret})

        def parse(response: httpx.Response) -> Token:
            try:
                body = response.json()
            except ValueError:
                raise Transient(where, f"the token endpoint answered HTTP {response.status_code}") from None
            if isinstance(body, dict) and body.get("access_token"):
                return Token(str(body["access_token"]), time.time() + float(body.get("expires_in") or 7200))
            failure = error(body if isinstance(body, dict) else {}, f"{where}, access token")
            raise failure if not isinstance(failure, AuthFailed) else AuthFailed(
                f"{where}, access token", f"the token endpoint refused the appid or secret ({failure.code})")

        self.tokens = TokenRefresh(token_key, refresh_request, parse, apply=apply_query("access_token"),
                                   expired=lambda response: _errcode(response) in TOKEN_EXPIRED)
        self.http = make_client(base, policy=policy, transport=transport, auth=self.tokens)
        self.calls = 0

    def close(self) -> None:
        self.http.close()

    def _send(self, path: str, body: Mapping[str, Any]) -> httpx.Response:
        budget = self.budgets(path)
        budget.reserve(1)
        before = self.tokens.refreshes
        response = None
        try:
            response = self.http.post(f"/channels/ec/{path}",
                                      content=json.dumps(dict(body), ensure_ascii=False).encode(),
                                      headers={"Content-Type": "application/json"})
            return response
        finally:
            self.calls += 1 + (self.tokens.refreshes - before)
            budget.settle(1, charged=charged(response))

    def _body(self, response: httpx.Response, where: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise Transient(where, f"the API answered something that is not JSON (HTTP {response.status_code})"
                            ) from None
        if not isinstance(body, dict):
            raise Transient(where, "the API answered an unexpected shape")
        return body

    def request(self, path: str, body: Mapping[str, Any] | None = None, *, what: str = "") -> dict[str, Any]:
        """The answer of one call, retried when transient (reads, and writes that are safe to repeat)."""
        where = f"{self.where}, {what or path}"

        def attempt() -> dict[str, Any]:
            response = self._send(path, body or {})
            classify(response, where)
            answer = self._body(response, where)
            if int(answer.get("errcode") or 0) == 0:
                return answer
            raise error(answer, where)

        return call(attempt, where=where, policy=self.policy, budgets=self.budgets, bucket=path)

    def send_once(self, path: str, body: Mapping[str, Any], *, what: str = "") -> Answer:
        """One attempt, never repeated: raises for what leaves the shop untouched (a refused connection,
        a rate limit, bad credentials), else the answer, or no answer when the call's fate is unknown."""
        where = f"{self.where}, {what or path}"
        try:
            response = self._send(path, body)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Transient(where, f"connection failed before sending ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            return Answer(None, f"no answer ({type(exc).__name__})")
        if response.status_code >= 500:
            return Answer(None, f"HTTP {response.status_code}")
        classify(response, where)
        try:
            answer = self._body(response, where)
        except Transient as exc:
            return Answer(None, str(exc))
        errcode = int(answer.get("errcode") or 0)
        kind, _ = outcome(errcode)
        if errcode in (0, STOCK_SHORT) or kind is Outcome.REJECTED:
            return Answer(answer)
        if kind is Outcome.TRANSIENT:
            return Answer(None, f"errcode {errcode}")
        failure = error(answer, where)
        if isinstance(failure, RateLimited) and failure.retry_after and errcode != STOCK_FREQUENCY:
            self.budgets(path).pause(failure.retry_after)
        raise failure
