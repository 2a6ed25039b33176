"""A real HTTP endpoint on loopback that records the pushes a simulator sends and answers as told."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from sandbox.runtime import ServerThread


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    query: dict[str, str]


@dataclass
class PushReceiver:
    """Answers `answer(received)` (a Response); `received` holds every request in arrival order."""

    answer: Callable[[Received], Response] = lambda _: PlainTextResponse("success")
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0
    echo: bool = True  # answer a GET with its `echostr` (WeChat's URL check)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.server = ServerThread(Starlette(routes=[Route("/push", self._endpoint, methods=["POST"]),
                                                     Route("/push", self._check, methods=["GET"])]))

    @property
    def url(self) -> str:
        return f"{self.server.url}/push"

    async def _endpoint(self, request: Request) -> Response:
        received = Received(await request.body(), dict(request.headers), dict(request.query_params))
        with self._lock:
            self.received.append(received)
        if self.delay:
            time.sleep(self.delay)
        return self.answer(received)

    async def _check(self, request: Request) -> Response:
        if not self.echo:
            return PlainTextResponse("no", status_code=403)
        return PlainTextResponse(request.query_params.get("echostr", ""))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.received)

    def __enter__(self) -> PushReceiver:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
