"""The webhook receiver (`marketsync serve`): verify, store, enqueue, answer; nothing more.

`POST /webhooks/{platform}/{account}`: unknown account → 404; a missing or wrong signature
(the connector's `verify_webhook`, `hmac.compare_digest`) → 401; a body over
`webhooks.max_body_bytes` → 413 (Content-Length is checked first, and the bytes are counted
while reading). A verified event is stored under its unique (platform, event id) in one small
transaction and only its id is enqueued (`sync.orders.process_event_job` on `orders`); a
duplicate delivery is acknowledged (200) and ignored. No platform call happens here, and the
blocking work runs in a thread so the event loop stays free. `GET /healthz` checks the
database and Redis. Payloads may hold customer data: they are never logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.base import Connector
from connectors.errors import AuthFailed, ConnectorError
from store import tables
from sync.context import Hub
from sync.orders import enqueue_event, order_reference, store_event

log = logging.getLogger(__name__)

ACCOUNT_TTL_S = 30.0  # how long a verified account's connector is reused before re-reading it


@dataclass
class _Entry:
    account: tables.Account | None
    connector: Connector | None
    loaded_at: float


class AccountCache:
    """Accounts (and their connectors, for signature checks) by (platform, name), briefly cached."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    def get(self, platform: str, name: str) -> tuple[tables.Account, Connector] | None:
        key = (platform, name)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or time.monotonic() - entry.loaded_at > ACCOUNT_TTL_S:
                if entry is not None and entry.connector is not None:
                    entry.connector.close()
                entry = self._entries[key] = self._load(platform, name)
        if entry.account is None or entry.connector is None:
            return None
        return entry.account, entry.connector

    def _load(self, platform: str, name: str) -> _Entry:
        with self.hub.db.session() as session:
            account = session.scalar(select(tables.Account).where(
                tables.Account.name == name, tables.Account.platform == platform, tables.Account.enabled.is_(True)))
        connector = self.hub.connector(account, shared_budget=False) if account is not None else None
        return _Entry(account, connector, time.monotonic())

    def close(self) -> None:
        with self._lock:
            for entry in self._entries.values():
                if entry.connector is not None:
                    entry.connector.close()
            self._entries.clear()


def accept(hub: Hub, cache: AccountCache, platform: str, name: str, headers: Mapping[str, str],
           body: bytes) -> tuple[int, dict[str, Any]]:
    """Verify and store one delivery; (HTTP status, answer). Blocking: run it off the event loop."""
    found = cache.get(platform, name)
    if found is None:
        return 404, {"error": f"no enabled {platform} account named {name!r}"}
    account, connector = found
    try:
        event = connector.verify_webhook(headers, body)
    except AuthFailed:
        log.warning("rejected a webhook for %s account %r: bad or missing signature", platform, name)
        return 401, {"error": "signature does not match"}
    except ConnectorError as exc:
        return 400, {"error": str(exc).splitlines()[0][:300]}
    if event.topic == "ping":
        return 200, {"status": "ping"}
    # Events about no order (the echo of the hub's own stock writes, product edits) are kept
    # for the record but need no job: reconciliation reads live quantities itself.
    about_order = order_reference(account.platform, event.topic, event.payload) is not None
    with hub.db.session() as session:
        event_row = store_event(session, account, event, body, status="received" if about_order else "ignored")
    if event_row is None:
        return 200, {"status": "duplicate"}
    if not about_order:
        return 200, {"status": "ignored", "event": event_row}
    try:
        enqueue_event(hub, event_row)
    except Exception as exc:  # stored: the sweep enqueues it once Redis is back
        log.warning("webhook event %s stored but not enqueued (%s); the sweep will pick it up", event_row,
                    type(exc).__name__)
    return 200, {"status": "accepted", "event": event_row}


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def healthy(hub: Hub) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    try:
        with hub.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable ({type(exc).__name__})"
    try:
        hub.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"unreachable ({type(exc).__name__})"
    return checks


def build_app(hub: Hub) -> Starlette:
    """The Starlette app for `marketsync serve` (and for tests, through any ASGI client)."""
    cache = AccountCache(hub)
    limit = hub.settings.webhooks.max_body_bytes

    async def webhook(request: Request) -> JSONResponse:
        body = await read_body(request, limit)
        if body is None:
            return JSONResponse({"error": f"body larger than {limit} bytes"}, status_code=413)
        status, answer = await run_in_threadpool(
            accept, hub, cache, request.path_params["platform"], request.path_params["account"],
            dict(request.headers), body)
        return JSONResponse(answer, status_code=status)

    async def healthz(request: Request) -> JSONResponse:
        checks = await run_in_threadpool(healthy, hub)
        ok = all(value == "ok" for value in checks.values())
        return JSONResponse({"ok": ok, **checks}, status_code=200 if ok else 503)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        cache.close()

    app = Starlette(routes=[Route("/webhooks/{platform}/{account}", webhook, methods=["POST"]),
                            Route("/healthz", healthz, methods=["GET"])], lifespan=lifespan)
    app.state.hub = hub
    app.state.accounts = cache
    return app
