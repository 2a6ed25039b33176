"""The signed TOP client: one POST to the gateway per call, errors classified before anything else.

Signing is `connectors.auth.SignedParameters` (md5, hmac or hmac-sha256 over the sorted
parameters, upper-case hex), run on every attempt with a fresh timestamp. Every call draws on two
rate buckets: the app's (`app`) and the API's own (its method name); a code-7 ban pauses the one
its sub-code names for the seconds TOP states.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from connectors.auth import SignedParameters, hmac_hex, md5_hex, sorted_concat
from connectors.budget import Budgets
from connectors.errors import Rejected, Transient
from connectors.http import ErrorTable, HttpPolicy, Outcome, call, charged, classify, error_for, make_client

CHINA = timezone(timedelta(hours=8))
GATEWAY = "https://eco.taobao.com/router/rest"
APP_BUCKET = "app"
SIGN_METHODS = ("md5", "hmac", "hmac-sha256")
BAN = re.compile(r"ban will last for (\d+) more seconds")

# TOP's gateway codes; 15/40/41 are decided by their sub-code (`isp.*` platform, `isv.*` caller).
CODES: ErrorTable = {
    "4": Outcome.RATE_LIMITED, "5": Outcome.RATE_LIMITED, "6": Outcome.RATE_LIMITED, "7": Outcome.RATE_LIMITED,
    "8": Outcome.RATE_LIMITED, "10": Outcome.TRANSIENT, "11": Outcome.AUTH_FAILED, "12": Outcome.AUTH_FAILED,
    "13": Outcome.AUTH_FAILED, "24": Outcome.AUTH_FAILED, "25": Outcome.AUTH_FAILED, "26": Outcome.AUTH_FAILED,
    "27": Outcome.AUTH_FAILED, "28": Outcome.AUTH_FAILED, "29": Outcome.AUTH_FAILED,
}


def top_time(moment: datetime) -> str:
    """A moment as TOP writes it: `yyyy-MM-dd HH:mm:ss` in GMT+8."""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def response_root(method: str) -> str:
    return method.removeprefix("taobao.").replace(".", "_") + "_response"


def signer(secret: str, sign_method: str) -> Callable[[Mapping[str, str]], str]:
    def sign(params: Mapping[str, str]) -> str:
        text = sorted_concat({k: v for k, v in params.items() if v != ""})
        if sign_method == "md5":
            return md5_hex(secret + text + secret).upper()
        return hmac_hex(secret, text, "md5" if sign_method == "hmac" else "sha256").upper()
    return sign


class TopError(Exception):
    def __init__(self, error: Mapping[str, Any]) -> None:
        self.code = str(error.get("code", ""))
        self.sub_code = str(error.get("sub_code") or "")
        self.message = str(error.get("sub_msg") or error.get("msg") or "TOP error")
        super().__init__(self.message)


class TopClient:
    def __init__(self, *, gateway: str, app_key: str, app_secret: str, session: str, sign_method: str,
                 where: Callable[[str], str], policy: HttpPolicy, budgets: Budgets,
                 transport: httpx.BaseTransport | None = None) -> None:
        if sign_method not in SIGN_METHODS:
            raise Rejected(where(""), f"option 'sign_method' must be one of {', '.join(SIGN_METHODS)}, "
                                      f"got {sign_method!r}")
        self.gateway, self.where, self.policy, self.budgets = gateway, where, policy, budgets

        def common(request: httpx.Request) -> dict[str, str]:
            return {"app_key": app_key, "session": session, "timestamp": top_time(datetime.now(UTC)),
                    "v": "2.0", "format": "json", "sign_method": sign_method}

        auth = SignedParameters(signer(app_secret, sign_method), common=common, place="form")
        self.http = make_client(gateway, policy=policy, transport=transport, auth=auth)
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, params: Mapping[str, Any] | None = None, *, what: str = "") -> dict[str, Any]:
        """Call one TOP method; its result below `<method>_response`, or the hub's error."""
        where = self.where(what or method)
        form = {"method": method, **{k: str(v) for k, v in (params or {}).items() if v is not None and v != ""}}
        return call(lambda: self._attempt(method, form, where), where=where, policy=self.policy,
                    budgets=self.budgets, bucket=method)

    def _attempt(self, method: str, form: dict[str, str], where: str) -> dict[str, Any]:
        app, own = self.budgets(APP_BUCKET), self.budgets(method)
        app.reserve(1)
        own.reserve(1)
        self.requests += 1
        response = None
        try:
            response = self.http.post(self.gateway, data=form)
        finally:
            app.settle(1, charged=charged(response))
            own.settle(1, charged=charged(response))
        classify(response, where)
        try:
            body = response.json()
        except ValueError:
            raise Transient(where, f"TOP answered HTTP {response.status_code} with a body that is not JSON") from None
        if "error_response" in body:
            raise self.error(TopError(body["error_response"]), where, method)
        result = body.get(response_root(method))
        if not isinstance(result, dict):
            raise Transient(where, f"TOP's answer has no {response_root(method)}")
        return result

    def error(self, error: TopError, where: str, method: str) -> Exception:
        """What a TOP error means for the hub: bans wait, isp.* retries, isv.* is refused with TOP's words."""
        text = f"{error.message} (code {error.code}{', ' + error.sub_code if error.sub_code else ''})"
        if error.code == "7" or error.sub_code.startswith("accesscontrol."):
            seconds = BAN.search(error.message)
            bucket = APP_BUCKET if "app-access-count" in error.sub_code else method
            return error_for(Outcome.RATE_LIMITED, where, text, code=error.code, bucket=bucket,
                             retry_after=float(seconds.group(1)) if seconds else 1.0)
        if error.sub_code.startswith("isp."):
            return error_for(Outcome.TRANSIENT, where, text, code=error.code)
        outcome = CODES.get(error.code, Outcome.REJECTED)
        rejected = error_for(outcome, where, text, code=error.sub_code or error.code,
                             retry_after=1.0 if outcome is Outcome.RATE_LIMITED else None)
        return rejected
