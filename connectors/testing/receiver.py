"""A loopback HTTP endpoint that records every delivery, for the contract's event tests.

It answers each delivery with what the connector under test says the platform expects
(`webhook_reply`), so a platform that retries on a wrong answer does not flood the test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.events import WebhookReply, WebhookRequest
from sandbox.runtime import ServerThread


class Receiver:
    """Records deliveries to `url`; `reply(request)` builds each answer."""

    def __init__(self, reply: Callable[[WebhookRequest], WebhookReply] | None = None) -> None:
        self.deliveries: list[WebhookRequest] = []
        self._reply = reply or (lambda request: WebhookReply(200, b"", "text/plain"))
        self._lock = threading.Lock()

        async def receive(request: Request) -> Response:
            delivery = WebhookRequest(request.method, dict(request.headers), dict(request.query_params),
                                      await request.body())
            with self._lock:
                self.deliveries.append(delivery)
            answer = self._reply(delivery)
            return Response(answer.body, status_code=answer.status, media_type=answer.content_type)

        app = Starlette(routes=[Route("/hook", receive, methods=["GET", "POST"])])
        self._server = ServerThread(app)

    @property
    def url(self) -> str:
        return f"{self._server.url}/hook"

    def __enter__(self) -> Receiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[WebhookRequest]:
        """The deliveries so far, once there are at least `count` (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.deliveries) >= count:
                    break
            time.sleep(0.02)
        with self._lock:
            return list(self.deliveries)

    def wait_quiet(self, quiet_s: float = 0.5, timeout: float = 10.0) -> None:
        """Wait until no delivery has arrived for `quiet_s` (so none is in flight when the endpoint stops)."""
        deadline = time.monotonic() + timeout
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            with self._lock:
                count = len(self.deliveries)
            if count != seen:
                seen, since = count, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            time.sleep(0.02)
