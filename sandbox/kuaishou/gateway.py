"""The 快手 open-platform gateway: `{base}/open/{method as path}`, GET or POST as each API is declared.

Common parameters (query, or form body for POST): `appkey`, `method`, `version=1`, `param` (the
business JSON), `access_token`, `timestamp` (UNIX milliseconds), `signMethod`, `sign`. Answers
are HTTP 200 JSON with `result` (1 = success), `error_msg`, `code`, `msg`, `sub_code`, `sub_msg`
and `data`. Per-API QPS limits and a per-app daily quota are kept in simulated time.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.kuaishou import items, orders
from sandbox.kuaishou.errors import (
    AUTH_FAILED,
    BAD_PARAMETER,
    QPS_LIMITED,
    QUOTA_LIMITED,
    SERVICE_ERROR,
    SIGN_FAILED,
    KuaishouError,
    business_params,
)
from sandbox.kuaishou.signing import sign
from sandbox.pushshop import control
from sandbox.runtime import Fault, FaultMiddleware

if TYPE_CHECKING:
    from sandbox.kuaishou import KuaishouSimulator

Handler = Callable[["KuaishouSimulator", dict[str, Any]], Any]
METHODS: dict[str, tuple[str, Handler]] = {**items.METHODS, **orders.METHODS}  # name -> (HTTP verb, handler)
COMMON = ("appkey", "method", "version", "param", "access_token", "timestamp", "signMethod", "sign")


def answer(data: Any = None, error: KuaishouError | None = None, *, status: int = 200) -> JSONResponse:
    if error is None:
        body = {"result": 1, "error_msg": "", "code": "0", "msg": "success", "sub_code": "", "sub_msg": "",
                "data": {} if data is None else data}
    else:
        body = {"result": error.result, "error_msg": error.error_msg, "code": str(error.result),
                "msg": error.error_msg, "sub_code": error.sub_code, "sub_msg": error.error_msg}
    return JSONResponse(body, status_code=status)


def verify(sim: KuaishouSimulator, params: Mapping[str, str], path_method: str, verb: str) -> dict[str, Any]:
    """Check the common parameters and the signature; the business parameters when they hold."""
    for name in COMMON:
        if name != "param" and not params.get(name):
            raise KuaishouError(BAD_PARAMETER, f"缺少参数{name}", f"isv.missing-parameter:{name}")
    if params["method"] != path_method:
        raise KuaishouError(BAD_PARAMETER, "method与请求路径不一致", "isv.parameter-invalid:method")
    if params["appkey"] != sim.app_key:
        raise KuaishouError(AUTH_FAILED, "appkey无效", "isv.invalid-appkey")
    if params["version"] != "1":
        raise KuaishouError(BAD_PARAMETER, "version只支持1", "isv.parameter-invalid:version")
    if params["signMethod"] not in ("MD5", "HMAC_SHA256"):
        raise KuaishouError(SIGN_FAILED, "签名校验失败: signMethod只支持MD5和HMAC_SHA256", "isv.invalid-signature")
    try:
        timestamp = int(params["timestamp"])
    except ValueError:
        raise KuaishouError(BAD_PARAMETER, "timestamp必须是毫秒时间戳", "isv.parameter-invalid:timestamp") from None
    if abs(time.time() * 1000 - timestamp) > float(sim.options["timestamp_tolerance_seconds"]) * 1000:
        raise KuaishouError(BAD_PARAMETER, "timestamp与服务器时间相差过大", "isv.timestamp-invalid")
    if not hmac.compare_digest(params["sign"].encode(), sign(params, sim.sign_secret).encode()):
        raise KuaishouError(SIGN_FAILED, "验签失败", "isv.invalid-signature")
    if not hmac.compare_digest(params["access_token"].encode(), sim.access_token.encode()):
        raise KuaishouError(AUTH_FAILED, "鉴权失败: access_token无效或已过期", "isv.invalid-access-token")
    if path_method not in METHODS:
        raise KuaishouError(BAD_PARAMETER, f"API {path_method}不存在", "isv.api-not-exist")
    if METHODS[path_method][0] != verb:
        raise KuaishouError(BAD_PARAMETER, f"{path_method}只支持{METHODS[path_method][0]}请求",
                            "isv.http-method-invalid")
    return business_params(params.get("param"))


def limit(sim: KuaishouSimulator, method: str) -> None:
    table: dict[str, int] = sim.options["api_qps"]
    qps = int(table.get(method, table.get("*", 100)))
    if sim.limits.take(f"qps:{method}", qps, 1.0) is not None:
        raise KuaishouError(QPS_LIMITED, f"Exceed qps limit, KEY [apiId:{method};appkey:{sim.app_key}], "
                                         f"MAX_QPS [{float(qps)}]", "isv.qps-limit")
    if sim.limits.take("daily", int(sim.options["daily_quota"]), 86400.0) is not None:
        raise KuaishouError(QUOTA_LIMITED, f"Exceed quota limit, KEY [appkey:{sim.app_key}]", "isv.quota-limit")


async def gateway(request: Request) -> Response:
    sim: KuaishouSimulator = request.app.state.simulator
    path_method = "open." + request.path_params["path"].strip("/").replace("/", ".")
    params = dict(request.query_params)
    try:
        raw = await request.body()
        if raw.strip():
            if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                raise KuaishouError(BAD_PARAMETER, "Content-type仅支持application/x-www-form-urlencoded",
                                    "isv.content-type-invalid")
            params.update(parse_qsl(raw.decode(), keep_blank_values=True))
        business = verify(sim, params, path_method, request.method)
        limit(sim, path_method)
        return answer(METHODS[path_method][1](sim, business))
    except KuaishouError as error:
        return answer(error=error)


def fault_response(request: Request, fault: Fault) -> Response:
    if fault.status == 429:
        return answer(error=KuaishouError(QPS_LIMITED, "Exceed qps limit, KEY [fault], MAX_QPS [0.0]"))
    return answer(error=KuaishouError(SERVICE_ERROR, "服务异常, 请稍后重试", "isp.service-error"),
                  status=fault.status)


def route_label(request: Request) -> str:
    path = request.url.path.strip("/")
    return path if path.startswith("_sandbox") else "kuaishou:" + path.replace("/", ".")


def create_app(sim: KuaishouSimulator) -> Starlette:
    routes = [*control.routes(), Route("/open/{path:path}", gateway, methods=["GET", "POST"])]
    middleware = [Middleware(FaultMiddleware, faults=sim.faults, counter=sim.requests, error=fault_response,
                             label=route_label)]
    return Starlette(routes=routes, middleware=middleware)
