"""The 抖店 open-platform gateway: `POST {base}/{method with dots as slashes}`.

Query: `app_key`, `method`, `timestamp` (UNIX seconds), `v=2`, `sign_method=hmac-sha256`, `sign`,
`access_token`; body: the business parameters (`param_json`). Every answer is HTTP 200 with the
envelope `{log_id, code, msg, sub_code, sub_msg, data}`; `code` 10000 is success.
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.douyin import orders, stock
from sandbox.douyin.errors import (
    API_OFFLINE,
    INVALID_PLATFORM,
    MISSING_PLATFORM,
    RATE_LIMITED,
    SERVICE_UNAVAILABLE,
    SUCCESS,
    DouyinError,
)
from sandbox.douyin.signing import canonical_param_json, sign
from sandbox.pushshop import control
from sandbox.runtime import Fault, FaultMiddleware

if TYPE_CHECKING:
    from sandbox.douyin import DouyinSimulator

Handler = Callable[["DouyinSimulator", dict[str, Any]], Any]
METHODS: dict[str, Handler] = {**stock.METHODS, **orders.METHODS}


def envelope(data: Any = None, error: DouyinError | None = None, *, status: int = 200) -> JSONResponse:
    body: dict[str, Any] = {"log_id": time.strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:18].upper()}
    if error is None:
        body.update(code=SUCCESS, msg="success", sub_code="", sub_msg="", data={} if data is None else data)
    else:
        body.update(code=error.code, msg=error.msg, sub_code=error.sub_code, sub_msg=error.sub_msg, data={})
    return JSONResponse(body, status_code=status)


def _platform_missing(name: str, sub_code: str) -> DouyinError:
    return DouyinError(MISSING_PLATFORM, "缺少必选参数(平台校验)", sub_code, f"{name}不能为空")


def _platform_invalid(sub_code: str, why: str) -> DouyinError:
    return DouyinError(INVALID_PLATFORM, "非法的参数(平台校验)", sub_code, why)


def verify(sim: DouyinSimulator, query: Mapping[str, str], raw: bytes, path_method: str) -> dict[str, Any]:
    """Check the common parameters and the signature; the business parameters when they hold."""
    for name, sub_code in (("app_key", "isv.app-id-missing"), ("sign", "isv.signature-missing"),
                           ("access_token", "isv.access-token-missing")):
        if not query.get(name):
            raise _platform_missing(name, sub_code)
    for name in ("method", "timestamp", "v", "sign_method"):
        if not query.get(name):
            raise _platform_missing(name, f"isv.missing-parameter:{name}")
    if query["method"] != path_method:
        raise _platform_invalid("isv.parameter-invalid:method", "method与请求路径不一致")
    if query["app_key"] != sim.app_key:
        raise _platform_invalid("isv.app-id-invalid", "app_key不存在")
    if query["v"] != "2":
        raise _platform_invalid("isv.parameter-invalid:v", "v只支持2")
    if query["sign_method"] != "hmac-sha256":
        raise _platform_invalid("isv.signature-invalid", "sign_method只支持hmac-sha256")
    try:
        timestamp = int(query["timestamp"])
    except ValueError:
        raise _platform_invalid("isv.timestamp-format-error", "时间戳格式错误") from None
    if abs(time.time() - timestamp) > float(sim.options["timestamp_tolerance_seconds"]):
        raise _platform_invalid("isv.timestamp-invalid", "时间戳不合法")
    try:
        params = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        params = None
    if not isinstance(params, dict):
        raise _platform_invalid("isv.parameter-format-invalid", "业务参数json解析失败")
    expected = sign(app_key=sim.app_key, app_secret=sim.app_secret, method=path_method,
                    timestamp=query["timestamp"], param_json=canonical_param_json(params))
    if not hmac.compare_digest(query["sign"].encode(), expected.encode()):
        raise _platform_invalid("isv.signature-invalid", "签名校验失败")
    if not hmac.compare_digest(query["access_token"].encode(), sim.access_token.encode()):
        raise _platform_invalid("isv.access-token-no-existed", "access_token不存在, 请使用最新的access_token访问")
    return params


async def gateway(request: Request) -> Response:
    sim: DouyinSimulator = request.app.state.simulator
    path_method = request.path_params["path"].strip("/").replace("/", ".")
    try:
        params = verify(sim, request.query_params, await request.body(), path_method)
        handler = METHODS.get(path_method)
        if handler is None:
            raise DouyinError(API_OFFLINE, "接口服务已下线", "isp.api-service-off", "API不存在或API已下线")
        if sim.limits.take(f"qps:{path_method}", int(sim.options["api_qps"]), 1.0) is not None:
            raise DouyinError(RATE_LIMITED, "触发限流, 请稍后重试", "isv.api-flow-limited",
                              f"{path_method}调用过于频繁")
        return envelope(handler(sim, params))
    except DouyinError as error:
        return envelope(error=error)


def fault_response(request: Request, fault: Fault) -> Response:
    if fault.status == 429:
        return envelope(error=DouyinError(RATE_LIMITED, "触发限流, 请稍后重试", "isv.api-flow-limited", "调用过于频繁"))
    return envelope(error=DouyinError(SERVICE_UNAVAILABLE, "服务不可用", "isp.service-error", "内部错误"),
                    status=fault.status)


def route_label(request: Request) -> str:
    path = request.url.path.strip("/")
    return path if path.startswith("_sandbox") else "douyin:" + path.replace("/", ".")


def create_app(sim: DouyinSimulator) -> Starlette:
    routes = [*control.routes(), Route("/{path:path}", gateway, methods=["POST"])]
    middleware = [Middleware(FaultMiddleware, faults=sim.faults, counter=sim.requests, error=fault_response,
                             label=route_label)]
    return Starlette(routes=routes, middleware=middleware)
