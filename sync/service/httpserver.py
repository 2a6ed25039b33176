"""How `marketsync serve` (and `run`) serve the webhook app: uvicorn with a read deadline.

uvicorn closes an idle keep-alive connection, but a client that connects and sends nothing, or
sends part of its headers or body and stalls, holds the connection (and a task) forever. The
protocol here gives every request `webhooks.read_timeout_s` from its first byte (or from the
connection, for the first request) to arrive whole; past that the connection is closed. A client
that goes away mid-request is one warning line, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from sync.hub.context import Hub
from sync.service.webserver import build_app

log = logging.getLogger("sync.service.webserver")


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for reading each request (headers and body)."""

    read_timeout_s = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._timed_out = False
        self._arm()

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.read_timeout_s, self._deadline_passed)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _reading(self) -> bool:
        """True while a request has not arrived whole (none started counts as reading)."""
        return self.cycle is None or self.cycle.response_complete or self.cycle.more_body

    def data_received(self, data: bytes) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self._arm()  # the next request on a kept-alive connection starts its own clock
        super().data_received(data)
        if self.cycle is not None and not self.cycle.more_body and not self.cycle.response_complete:
            self._disarm()

    def on_response_complete(self) -> None:
        self._disarm()
        super().on_response_complete()

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or not self._reading():
            return
        self._timed_out = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the app's receive() answers http.disconnect
            self.cycle.message_event.set()
        log.warning("closed a connection from %s: no whole request within %.0f s", _peer(self.client),
                    self.read_timeout_s)
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if not self._timed_out and self.cycle is not None and not self.cycle.response_complete \
                and self.cycle.more_body:
            log.warning("a client (%s) disconnected before sending its whole request", _peer(self.client))
        super().connection_lost(exc)


def _peer(client: Any) -> str:
    return f"{client[0]}:{client[1]}" if client else "unknown"


def server_config(hub: Hub, *, host: str | None = None, port: int | None = None,
                  lifespan: Literal["auto", "on", "off"] = "auto") -> uvicorn.Config:
    """The uvicorn configuration for the webhook app on `webhooks.host`/`port` unless given."""
    settings = hub.settings.webhooks
    protocol = type("HubH11Protocol", (DeadlineH11Protocol,), {"read_timeout_s": settings.read_timeout_s})
    # access logs off: URLs name accounts; bodies are never logged
    return uvicorn.Config(build_app(hub), host=host or settings.host, port=settings.port if port is None else port,
                          http=protocol, log_level="warning", lifespan=lifespan, access_log=False,
                          timeout_keep_alive=max(1, int(min(5.0, settings.read_timeout_s))))
