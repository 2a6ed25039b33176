"""A loopback receiver for alert deliveries that checks what each documented format requires.

It verifies the generic HMAC signature, DingTalk's URL `timestamp`/`sign` and Feishu's body
`timestamp`/`sign` with the algorithms their robot documentation gives, and answers as each
destination documents (WeCom/DingTalk `{"errcode": 0, "errmsg": "ok"}`, Feishu `{"code": 0}`,
Slack `ok`). `script` queues answers to give instead: (status, body) pairs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sandbox.runtime import ServerThread

SECRET = "SECtest-signing-secret"


@dataclass
class Received:
    fmt: str
    body: dict[str, Any]
    headers: dict[str, str]
    query: dict[str, str]
    signed: bool


@dataclass
class RobotReceiver:
    received: list[Received] = field(default_factory=list)
    script: list[tuple[int, Any]] = field(default_factory=list)
    server: ServerThread | None = None

    def url(self, fmt: str) -> str:
        assert self.server is not None
        return f"{self.server.url}/{fmt}?access_token=tok" if fmt == "dingtalk" else f"{self.server.url}/{fmt}"

    def _signed(self, fmt: str, raw: bytes, body: dict[str, Any], request: Request) -> bool:
        if fmt == "generic":
            stamp = request.headers.get("x-marketsync-timestamp", "")
            expected = "sha256=" + hmac.new(SECRET.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, request.headers.get("x-marketsync-signature", ""))
        if fmt == "dingtalk":
            stamp = request.query_params.get("timestamp", "")
            digest = hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest()
            fresh = abs(int(stamp or 0) - time.time() * 1000) < 3_600_000  # within the hour DingTalk allows
            return fresh and request.query_params.get("sign") == base64.b64encode(digest).decode()
        if fmt == "feishu":
            stamp = str(body.get("timestamp", ""))
            digest = hmac.new(f"{stamp}\n{SECRET}".encode(), b"", hashlib.sha256).digest()
            return body.get("sign") == base64.b64encode(digest).decode()
        return True  # WeCom and Slack: the URL itself is the credential

    async def handle(self, request: Request) -> Response:
        fmt = request.path_params["fmt"]
        raw = await request.body()
        body = json.loads(raw)
        query = dict(urllib.parse.parse_qsl(request.url.query))
        signed = self._signed(fmt, raw, body, request)
        self.received.append(Received(fmt, body, dict(request.headers), query, signed))
        if self.script:
            status, answer = self.script.pop(0)
            return JSONResponse(answer, status_code=status) if isinstance(answer, dict) else \
                PlainTextResponse(str(answer), status_code=status)
        if fmt in ("wecom", "dingtalk"):
            return JSONResponse({"errcode": 0 if signed else 310000, "errmsg": "ok" if signed else "sign not match"})
        if fmt == "feishu":
            return JSONResponse({"code": 0, "msg": "success", "data": {}} if signed else
                                {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"})
        if fmt == "slack":
            return PlainTextResponse("ok")
        return Response(status_code=204 if signed else 401)

    def start(self) -> RobotReceiver:
        app = Starlette(routes=[Route("/{fmt}", self.handle, methods=["POST"])])
        self.server = ServerThread(app).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
