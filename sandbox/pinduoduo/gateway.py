"""The PDD gateway, `POST /api/router`: `type`, `client_id`, `access_token`, `timestamp` (UNIX
seconds), `data_type`, `version`, `sign`; then the API, answered under its own response root.

Parameters come form-encoded (the official SDKs) or as one JSON object; in JSON, nested values
are signed as their compact JSON text. Only `data_type=JSON` is served.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from sandbox.pinduoduo import api_goods, api_orders
from sandbox.pinduoduo.errors import PddError
from sandbox.pinduoduo.shop import Call, PddShop
from sandbox.pinduoduo.signing import sign
from sandbox.runtime import Fault

HANDLERS = {**api_goods.HANDLERS, **api_orders.HANDLERS}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return "" if value is None else str(value)


async def parameters(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json") and raw.strip():
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise PddError(10001, "JSON 请求体必须是对象")
        params.update({key: _scalar(value) for key, value in data.items()})
    else:
        params.update(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    return params


def check_common(shop: PddShop, params: dict[str, str]) -> str:
    api = params.get("type", "")
    if not api:
        raise PddError(10001, "type 不能为空")
    if params.get("client_id") != shop.credentials.client_id:
        raise PddError(10016)
    if api not in HANDLERS:
        raise PddError(10017, f"type {api!r} 不存在")
    _check_timestamp(shop, params.get("timestamp", ""))
    if params.get("data_type", "JSON").upper() != "JSON":
        raise PddError(10001, "本模拟器只支持 data_type=JSON")
    if not params.get("sign"):
        raise PddError(10001, "sign 不能为空")
    if not hmac.compare_digest(sign(params, shop.credentials.client_secret), params["sign"]):
        raise PddError(20004)
    if api not in api_orders.APP_APIS:
        _check_token(shop, params.get("access_token", ""))
    return api


def _check_timestamp(shop: PddShop, raw: str) -> None:
    if not raw.isdigit():
        raise PddError(10001, f"timestamp 必须是 UNIX 秒, 收到 {raw!r}")
    skew = abs(time.time() - int(raw))
    if skew > shop.settings.timestamp_skew_seconds:
        raise PddError(10001, f"timestamp 与服务器时间相差 {skew:.0f} 秒")


def _check_token(shop: PddShop, token: str) -> None:
    if not token:
        raise PddError(10001, "access_token 不能为空")
    if token != shop.credentials.access_token:
        raise PddError(20032)
    if not shop.credentials.token_valid:
        raise PddError(10019, "access_token已过期, 请用 refresh_token 刷新")


async def router(request: Request) -> Response:
    shop: PddShop = request.app.state.shop
    request_id = secrets.token_hex(8)
    try:
        params = await parameters(request)
        api = check_common(shop, params)
        if not shop.limits.admit(api):
            raise PddError(52101)
        body = HANDLERS[api](shop, Call(api, params))
    except PddError as error:
        return JSONResponse(error.body(request_id))
    except json.JSONDecodeError:
        return JSONResponse(PddError(10001, "请求体不是合法的 JSON").body(request_id))
    shop.after_call(api, params)
    return JSONResponse({api_orders.ROOTS[api]: {**body, "request_id": request_id}})


def fault_response(request: Request, fault: Fault) -> Response:
    request_id = secrets.token_hex(8)
    codes = {429: 52101, 401: 10019, 503: 52103}
    if fault.status in codes:
        return JSONResponse(PddError(codes[fault.status]).body(request_id))
    return PlainTextResponse("gateway error", status_code=fault.status)


def label(request: Request) -> str:
    return request.query_params.get("type") or request.url.path
