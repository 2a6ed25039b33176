"""The JOS gateway, `/routerjson` (POST form, or GET query): `method`, `app_key`, `access_token`,
`timestamp`, `v=2.0`, `360buy_param_json` (all business parameters as one JSON object), `sign`."""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from sandbox.interface import SimulatorError
from sandbox.jd import api
from sandbox.jd.errors import BusinessError, JosError
from sandbox.jd.model import parse_time
from sandbox.jd.shop import Call, JdShop
from sandbox.jd.signing import sign
from sandbox.runtime import Fault


async def parameters(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        params.update(parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True))
    return params


def check_common(shop: JdShop, params: dict[str, str]) -> str:
    method = params.get("method", "")
    if not method:
        raise JosError("14")
    if params.get("app_key") != shop.credentials.app_key:
        raise JosError("21", f"app_key {params.get('app_key', '')!r}")
    if method not in api.HANDLERS:
        raise JosError("15", method)
    _check_timestamp(shop, params.get("timestamp", ""))
    if not params.get("v"):
        raise JosError("4")
    if params["v"] != "2.0":
        raise JosError("5", "v 应为 2.0")
    if not params.get("sign"):
        raise JosError("11")
    if not hmac.compare_digest(sign(params, shop.credentials.app_secret), params["sign"]):
        raise JosError("12")
    token = params.get("access_token", "")
    if token != shop.credentials.access_token or not shop.credentials.token_valid:
        raise JosError("19", "access_token 无效或已过期, 请重新授权")
    return method


def _check_timestamp(shop: JdShop, raw: str) -> None:
    if not raw:
        raise JosError("7")
    try:
        moment = parse_time(raw)
    except ValueError:
        raise JosError("8", f"格式应为 yyyy-MM-dd HH:mm:ss, 收到 {raw!r}") from None
    skew = abs((datetime.now(UTC) - moment).total_seconds())
    if skew > shop.settings.timestamp_skew_seconds:
        raise JosError("8", f"与服务器时间相差 {skew:.0f} 秒")


def business_arguments(params: dict[str, str]) -> dict[str, Any]:
    raw = params.get("360buy_param_json", "")
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


async def router(request: Request) -> Response:
    shop: JdShop = request.app.state.shop
    params = await parameters(request)
    try:
        method = check_common(shop, params)
        if not shop.limits.admit(method):
            raise JosError(shop.settings.rate_limit_code, "调用频率超过限制, 请稍后再试")
    except JosError as error:
        return JSONResponse(error.body())
    root = api.response_root(method)
    try:
        args = business_arguments(params)
        body = api.HANDLERS[method](shop, Call(method, args))
    except (BusinessError, SimulatorError) as error:
        return JSONResponse({root: {"code": "0", **api.failure(method, str(error))}})
    except ValueError:
        return JSONResponse({root: {"code": "0", **api.failure(method, "360buy_param_json 不是合法的 JSON 对象")}})
    shop.after_call(method, args)
    return JSONResponse({root: {"code": "0", **body}})


def fault_response(request: Request, fault: Fault) -> Response:
    shop: JdShop = request.app.state.shop
    codes = {429: shop.settings.rate_limit_code, 401: "19", 503: "65"}
    if fault.status in codes:
        return JSONResponse(JosError(codes[fault.status]).body())
    return PlainTextResponse("gateway error", status_code=fault.status)


def label(request: Request) -> str:
    return request.query_params.get("method") or request.url.path
