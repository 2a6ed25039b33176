"""The TOP gateway, `POST /router/rest` (GET works too): common parameters, signature,
timestamp, session, call limits, then the method, answered under `<method>_response`.

Parameters may come in the query string, the form body, or both (TOP SDKs put the common
ones in the URL). Only `format=json` is served; TOP's default, XML, is refused with code 23.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from sandbox.runtime import Fault
from sandbox.taobao import api_items, api_messages, api_trades
from sandbox.taobao.errors import TopError, call_limited, platform_failure
from sandbox.taobao.model import parse_time
from sandbox.taobao.shop import Call, TaobaoShop
from sandbox.taobao.signing import SIGN_METHODS, sign

HANDLERS = {**api_items.HANDLERS, **api_trades.HANDLERS, **api_messages.HANDLERS}


def response_root(method: str) -> str:
    """`taobao.item.quantity.update` -> `item_quantity_update_response`."""
    return method.removeprefix("taobao.").replace(".", "_") + "_response"


def simplified(value: Any) -> Any:
    """The compact JSON of `simplify=true`: list wrappers like {"items": {"item": [...]}} unwrapped."""
    if isinstance(value, dict):
        if len(value) == 1:
            (only,) = value.values()
            if isinstance(only, list):
                return [simplified(v) for v in only]
        return {k: simplified(v) for k, v in value.items()}
    if isinstance(value, list):
        return [simplified(v) for v in value]
    return value


async def parameters(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        body = (await request.body()).decode("utf-8", errors="replace")
        params.update(parse_qsl(body, keep_blank_values=True))
    return params


def check_common(shop: TaobaoShop, params: dict[str, str]) -> str:
    """Validate what every call carries; the method name when all is well."""
    method = params.get("method", "")
    if not method:
        raise TopError(21)
    if not params.get("app_key"):
        raise TopError(28)
    if params["app_key"] != shop.credentials.app_key:
        raise TopError(29, "isv.appkey-not-exists", f"app_key {params['app_key']!r} is not known")
    if method not in HANDLERS:
        raise TopError(22, "isv.method-not-exists", f"method {method!r} is not served here")
    _check_timestamp(shop, params.get("timestamp", ""))
    if not params.get("v"):
        raise TopError(32)
    if params["v"] != "2.0":
        raise TopError(34, None, "v must be 2.0")
    if params.get("format", "xml") != "json":
        raise TopError(23, None, "this simulator answers format=json only")
    _check_signature(shop, params)
    _check_session(shop, method, params.get("session", ""))
    return method


def _check_timestamp(shop: TaobaoShop, raw: str) -> None:
    if not raw:
        raise TopError(30)
    try:
        moment = parse_time(raw)
    except ValueError:
        raise TopError(31, None, f"timestamp must be yyyy-MM-dd HH:mm:ss (GMT+8), got {raw!r}") from None
    skew = abs((datetime.now(UTC) - moment).total_seconds())
    if skew > shop.settings.timestamp_skew_seconds:
        raise TopError(31, None, f"timestamp is {skew:.0f}s away from server time (GMT+8); allowed ±"
                                 f"{shop.settings.timestamp_skew_seconds:.0f}s")


def _check_signature(shop: TaobaoShop, params: dict[str, str]) -> None:
    if not params.get("sign"):
        raise TopError(24)
    sign_method = params.get("sign_method", "")
    if sign_method not in SIGN_METHODS:
        raise TopError(41, "isv.invalid-parameter:sign_method", f"sign_method must be one of {SIGN_METHODS}")
    expected = sign(params, shop.credentials.app_secret, sign_method)
    if not hmac.compare_digest(expected, params["sign"]):
        raise TopError(25)


def _check_session(shop: TaobaoShop, method: str, session: str) -> None:
    if method in api_messages.APP_METHODS and not session:
        return
    if not session:
        raise TopError(26)
    if session != shop.credentials.session or not shop.session_valid:
        raise TopError(27, "invalid-sessionkey", "session is invalid or expired; authorise the app again")


def answer(method: str, body: dict[str, Any], params: dict[str, str], request_id: str) -> dict[str, Any]:
    body = {**body, "request_id": request_id}
    if params.get("simplify", "").lower() == "true":
        result: dict[str, Any] = simplified(body)
        return result
    return {response_root(method): body}


async def router(request: Request) -> Response:
    shop: TaobaoShop = request.app.state.shop
    params = await parameters(request)
    request_id = secrets.token_hex(6)
    try:
        method = check_common(shop, params)
        refused = shop.limits.admit(method)
        if refused:
            raise call_limited(*refused)
        body = HANDLERS[method](shop, Call(method, params))
    except TopError as error:
        return JSONResponse(error.body(request_id))
    shop.after_call(method, params)
    return JSONResponse(answer(method, body, params, request_id))


def fault_response(request: Request, fault: Fault) -> Response:
    """How TOP answers an injected failure: limits and platform errors inside HTTP 200."""
    request_id = secrets.token_hex(6)
    if fault.status == 429:
        seconds = max(1, round(fault.retry_after or 1))
        error = call_limited("accesscontrol.limited-by-app-access-count", seconds)
        return JSONResponse(error.body(request_id))
    if fault.status == 401:
        return JSONResponse(TopError(27, "invalid-sessionkey", "session is invalid or expired").body(request_id))
    if fault.status == 503:
        return JSONResponse(platform_failure().body(request_id))
    return PlainTextResponse("gateway error", status_code=fault.status)


def label(request: Request) -> str:
    return request.query_params.get("method") or request.url.path
