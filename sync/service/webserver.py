"""The webhook receiver (`marketsync serve`): verify, store, enqueue, answer; nothing more.

`POST` (or `GET`, for platforms that check a URL with a handshake) `/webhooks/{platform}/{account}`:
unknown account → 404; a missing or wrong signature (the connector's `verify_webhook`,
`hmac.compare_digest`) → 401; a body over `webhooks.max_body_bytes` → 413 (Content-Length is
checked first, and the bytes are counted while reading). The connector turns the delivery into
events and says what each is about (`event_subject`); the server never reads a payload itself.
Verified events are stored under their unique (account, event id) in one small transaction and,
when one is about an order, the account's drain is woken (`sync.orders.drain.wake`: a job on
`events` ingests its stored events a chunk per transaction); a duplicate
delivery, or the same body again within `webhooks.replay_window_s` under any event id, is
acknowledged (200) and ignored. A signed body the connector cannot read (not an object, ids that
are objects or thousands of digits, nested too deep) is refused with 400 and nothing is stored.
The answer is the connector's `webhook_reply` when it has a body (the platform expects one), else a
small JSON status. No platform call happens here, and the blocking work runs in a thread so the
event loop stays free. `GET /healthz` checks the database and Redis. Payloads may hold customer
data: they are never logged, and only their ids, topic, timestamps and subject are stored. An event
about an order already purged is stored redacted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import canonical
from connectors.base import Connector
from connectors.errors import AuthFailed, ConnectorError
from connectors.events import ChannelEvent, EventSubject, SubjectKind, WebhookReply, WebhookRequest
from store import tables
from sync.hub.context import Hub
from sync.orders.drain import wake
from sync.orders.events import (
    body_digest,
    carried_order,
    order_purged,
    replayed,
    seal_order,
    store_event,
)
from sync.orders.privacy import REDACTED

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
        with self.hub.db.reading() as session:
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


@dataclass(frozen=True)
class Answer:
    """What the server answers one delivery: the platform's expected reply, else a small JSON status."""

    status: int
    detail: dict[str, Any]
    reply: WebhookReply | None = None


def accept(hub: Hub, cache: AccountCache, platform: str, name: str, request: WebhookRequest) -> Answer:
    """Verify and store one delivery. Blocking: run it off the event loop."""
    found = cache.get(platform, name)
    if found is None:
        return Answer(404, {"error": f"no enabled {platform} account named {name!r}"})
    account, connector = found
    try:
        events = connector.verify_webhook(request)
        subjects = [connector.event_subject(event) for event in events]
    except AuthFailed:
        log.warning("rejected a webhook for %s account %r: bad or missing signature", platform, name)
        return Answer(401, {"error": "signature does not match"})
    except ConnectorError as exc:
        return Answer(400, {"error": str(exc).splitlines()[0][:300]})
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        # A signed body of a shape the connector cannot read: refused whole, nothing stored.
        log.warning("refused a signed webhook for %s account %r: unreadable payload (%s)", platform, name,
                    type(exc).__name__)
        return Answer(400, {"error": f"the payload is not a {platform} event the hub can read"})
    problems = [problem for subject in subjects if subject is not None and (problem := subject.problem())]
    if problems:
        return Answer(400, {"error": problems[0]})
    carried = [carried_order(connector, event) if subject is not None and subject.kind is SubjectKind.ORDER else None
               for event, subject in zip(events, subjects, strict=True)]
    stored = store_events(hub, account, events, subjects, body_digest(request.body), carried)
    reply = connector.webhook_reply(request, events)
    if not events:
        return Answer(200, {"status": "no event"}, reply)
    if stored is None:
        return Answer(200, {"status": "duplicate", "reason": "the same body was delivered before"}, reply)
    if any(row is not None and queued for row, queued in stored):
        try:
            wake(hub, account.id)
        except Exception as exc:  # stored: the sweep wakes the account's drain once Redis is back
            log.warning("webhook events of account %s stored but their drain not woken (%s); the sweep will "
                        "pick them up", account.id, type(exc).__name__)
    return Answer(200, summary(stored), reply)


def store_events(hub: Hub, account: tables.Account, events: list[ChannelEvent], subjects: list[EventSubject | None],
                 digest: str, carried: list[canonical.Order | None] | None = None
                 ) -> list[tuple[int | None, bool]] | None:
    """Store each event in one transaction: (row id or None for a duplicate, whether a job must process it);
    None when the whole body is a replay of one received within `webhooks.replay_window_s`.

    Events about no order (the echo of the hub's own stock writes, product edits, pings) are kept
    for the record but need no job: reconciliation reads live quantities itself. An event about an
    order whose personal data was purged is stored redacted: its order reference is all the job needs.
    """
    with hub.db.session() as session:
        if events and replayed(session, account.id, digest, hub.settings.webhooks.replay_window_s):
            return None
        stored = []
        for event, subject, order in zip(events, subjects, carried or [None] * len(events), strict=True):
            reference = subject.order if subject is not None else None
            redact = reference is not None and order_purged(session, account.id, reference)
            sealed = seal_order(hub.secret_box, order) if order is not None and reference and not redact else None
            row = store_event(session, account, event, status="received" if reference else "ignored",
                              body_digest=digest, order_reference=reference, payload=REDACTED if redact else None,
                              subject=subject, carried=sealed)
            stored.append((row, reference is not None))
        return stored


def summary(stored: list[tuple[int | None, bool]]) -> dict[str, Any]:
    if len(stored) == 1:
        [(row, queued)] = stored
        if row is None:
            return {"status": "duplicate"}
        return {"status": "accepted" if queued else "ignored", "event": row}
    return {"status": "accepted", "events": [row for row, _ in stored if row is not None],
            "duplicates": sum(1 for row, _ in stored if row is None)}


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to exceed `limit` bytes.

    ClientDisconnect (the client left, or the read deadline closed it) propagates to the handler.
    """
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

    async def webhook(request: Request) -> Response:
        try:
            body = await read_body(request, limit)
        except ClientDisconnect:  # logged once by the protocol (sync.service.httpserver); nothing to answer
            return Response(status_code=400)
        if body is None:
            return JSONResponse({"error": f"body larger than {limit} bytes"}, status_code=413)
        delivery = WebhookRequest(method=request.method, headers=dict(request.headers),
                                  query=dict(request.query_params), body=body)
        try:
            answer = await run_in_threadpool(accept, hub, cache, request.path_params["platform"],
                                             request.path_params["account"], delivery)
        except DBAPIError as exc:  # nothing was stored: the platform delivers again (every sender retries a 5xx)
            log.warning("webhook for %s account %r not stored, the database is unavailable (%s)",
                        request.path_params["platform"], request.path_params["account"], type(exc.orig).__name__)
            return JSONResponse({"error": "the hub's database is unavailable; deliver again later"}, status_code=503)
        if answer.reply is not None and answer.reply.body:
            return Response(answer.reply.body, status_code=answer.reply.status, media_type=answer.reply.content_type)
        return JSONResponse(answer.detail, status_code=answer.status)

    async def healthz(request: Request) -> JSONResponse:
        checks = await run_in_threadpool(healthy, hub)
        ok = all(value == "ok" for value in checks.values())
        return JSONResponse({"ok": ok, **checks}, status_code=200 if ok else 503)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        cache.close()

    app = Starlette(routes=[Route("/webhooks/{platform}/{account}", webhook, methods=["GET", "POST"]),
                            Route("/healthz", healthz, methods=["GET"])], lifespan=lifespan)
    app.state.hub = hub
    app.state.accounts = cache
    return app
