"""The 微信 API: `POST /channels/ec/<path>?access_token=` JSON, and the token endpoints.

No request signature; the access token is the credential. Every answer is HTTP 200 JSON with
`errcode`/`errmsg`. Each API takes `api_per_minute` calls a minute (45011 beyond) and
`api_daily_quota` a day (45009); the token endpoint takes `token_daily_quota` a day.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.pushshop import control
from sandbox.runtime import Fault, FaultMiddleware
from sandbox.wechat import orders, products
from sandbox.wechat.errors import (
    BAD_BODY,
    DAILY_QUOTA,
    INVALID_APPID,
    INVALID_ARGS,
    INVALID_CREDENTIAL,
    INVALID_GRANT_TYPE,
    MINUTE_LIMIT,
    SYSTEM_BUSY,
    WechatError,
)

if TYPE_CHECKING:
    from sandbox.wechat import WechatSimulator

Handler = Callable[["WechatSimulator", dict[str, Any]], dict[str, Any]]
METHODS: dict[str, Handler] = {**products.METHODS, **orders.METHODS}


def answer(data: dict[str, Any] | None = None, error: WechatError | None = None, *, status: int = 200) -> JSONResponse:
    if error is not None:
        return JSONResponse({"errcode": error.errcode, "errmsg": f"{error.errmsg} rid: {_rid()}"}, status_code=status)
    return JSONResponse({"errcode": 0, "errmsg": "ok", **(data or {})}, status_code=status)


def _rid() -> str:
    return "-".join(secrets.token_hex(4) for _ in range(3))


def _quota(sim: WechatSimulator, api: str) -> None:
    if sim.limits.take(f"minute:{api}", int(sim.options["api_per_minute"]), 60.0) is not None:
        raise WechatError(MINUTE_LIMIT, "api minute-quota reach limit  mustslower  retry next minute")
    if sim.limits.take(f"daily:{api}", int(sim.options["api_daily_quota"]), 86400.0) is not None:
        raise WechatError(DAILY_QUOTA, "reach max api daily quota limit")


def _credentials(sim: WechatSimulator, grant_type: Any, appid: Any, secret: Any) -> None:
    if grant_type != "client_credential":
        raise WechatError(INVALID_GRANT_TYPE, "invalid grant_type")
    if appid != sim.appid:
        raise WechatError(INVALID_APPID, "invalid appid")
    if not hmac.compare_digest(str(secret or "").encode(), sim.app_secret.encode()):
        raise WechatError(INVALID_CREDENTIAL, "invalid credential, access_token is invalid or not latest")
    if sim.limits.take("daily:token", int(sim.options["token_daily_quota"]), 86400.0) is not None:
        raise WechatError(DAILY_QUOTA, "reach max api daily quota limit")


async def token(request: Request) -> Response:
    sim: WechatSimulator = request.app.state.simulator
    query = request.query_params
    try:
        _credentials(sim, query.get("grant_type"), query.get("appid"), query.get("secret"))
    except WechatError as error:
        return answer(error=error)
    access_token, expires_in = sim.tokens.issue()
    return JSONResponse({"access_token": access_token, "expires_in": expires_in})


async def stable_token(request: Request) -> Response:
    sim: WechatSimulator = request.app.state.simulator
    try:
        body = _json(await request.body())
        _credentials(sim, body.get("grant_type"), body.get("appid"), body.get("secret"))
    except WechatError as error:
        return answer(error=error)
    access_token, expires_in = sim.tokens.stable(force_refresh=bool(body.get("force_refresh")))
    return JSONResponse({"access_token": access_token, "expires_in": expires_in})


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise WechatError(BAD_BODY, "data format error, the body must be a JSON object")
    return body


async def api(request: Request) -> Response:
    sim: WechatSimulator = request.app.state.simulator
    path = request.path_params["path"].strip("/")
    try:
        sim.tokens.check(request.query_params.get("access_token"))
        handler = METHODS.get(path)
        if handler is None:
            raise WechatError(INVALID_ARGS, f"invalid url, /channels/ec/{path} does not exist")
        _quota(sim, path)
        return answer(handler(sim, _json(await request.body())))
    except WechatError as error:
        return answer(error=error)


async def expire_tokens(request: Request) -> Response:
    sim: WechatSimulator = request.app.state.simulator
    sim.tokens.expire_all()
    return JSONResponse({"ok": True})


def fault_response(request: Request, fault: Fault) -> Response:
    if fault.status == 429:
        return answer(error=WechatError(MINUTE_LIMIT, "api minute-quota reach limit  mustslower  retry next minute"))
    return answer(error=WechatError(SYSTEM_BUSY, "system error"), status=fault.status)


def route_label(request: Request) -> str:
    path = request.url.path.strip("/")
    return path if path.startswith("_sandbox") else "wechat:" + path.removeprefix("channels/ec/")


def create_app(sim: WechatSimulator) -> Starlette:
    routes = [Route("/_sandbox/expire-tokens", expire_tokens, methods=["POST"]), *control.routes(),
              Route("/cgi-bin/token", token, methods=["GET"]),
              Route("/cgi-bin/stable_token", stable_token, methods=["POST"]),
              Route("/channels/ec/{path:path}", api, methods=["POST"])]
    middleware = [Middleware(FaultMiddleware, faults=sim.faults, counter=sim.requests, error=fault_response,
                             label=route_label)]
    return Starlette(routes=routes, middleware=middleware)
