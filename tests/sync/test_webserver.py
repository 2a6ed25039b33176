"""The webhook receiver: signatures, size limits, unknown accounts, duplicates (both databases, real Redis)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from connectors.woocommerce.webhooks import signature
from sandbox.runtime import ServerThread, free_port
from store import tables
from sync.hub.accounts import add_account
from sync.hub.context import Hub
from sync.hub.queues import queue
from sync.service.webserver import build_app

URL = "/webhooks/woocommerce/woo"


@pytest.fixture
def client(hub: Hub) -> Iterator[httpx.Client]:
    """The receiver served over real HTTP on loopback."""
    add_account(hub, "woocommerce", "woo", {"url": "http://127.0.0.1:9"},
                {"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "whsec"}, actor="test")
    server = ServerThread(build_app(hub), free_port()).start()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http
    server.stop()


def delivery(order_id: int = 7, *, delivery_id: str = "d1", secret: str = "whsec") -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": order_id, "status": "processing", "billing": {"email": "buyer@example.com"}}).encode()
    return body, {"X-WC-Webhook-Signature": signature(body, secret), "X-WC-Webhook-Topic": "order.updated",
                  "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Delivery-ID": delivery_id,
                  "Content-Type": "application/json"}


def stored(hub: Hub) -> int:
    with hub.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(tables.WebhookEvent)) or 0)


def test_a_signed_delivery_is_stored_once_and_its_accounts_drain_enqueued(hub: Hub, client: httpx.Client) -> None:
    body, headers = delivery()
    first = client.post(URL, content=body, headers=headers)
    second = client.post(URL, content=body, headers=headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["status"] == "accepted" and second.json()["status"] == "duplicate"
    assert stored(hub) == 1
    jobs = queue("events", hub.redis).jobs
    with hub.db.session() as session:
        account_id = session.scalar(select(tables.Account.id))
    assert [(job.func_name, list(job.args)) for job in jobs] == [("sync.jobs.drain_events", [account_id])]


@pytest.mark.parametrize("secret", ["wrong", None])
def test_a_forged_or_unsigned_delivery_is_refused(hub: Hub, client: httpx.Client, secret: str | None) -> None:
    body, headers = delivery(secret=secret or "whsec")
    if secret is None:
        del headers["X-WC-Webhook-Signature"]
    assert client.post(URL, content=body, headers=headers).status_code == 401
    assert stored(hub) == 0
    assert queue("events", hub.redis).count == 0


def test_an_unknown_account_is_404(hub: Hub, client: httpx.Client) -> None:
    body, headers = delivery()
    assert client.post("/webhooks/woocommerce/nobody", content=body, headers=headers).status_code == 404
    assert client.post("/webhooks/shopify/woo", content=body, headers=headers).status_code == 404
    assert stored(hub) == 0


def test_an_oversized_body_is_413_by_header_or_by_count(hub: Hub, client: httpx.Client) -> None:
    limit = hub.settings.webhooks.max_body_bytes
    big = b"x" * (limit + 1)
    _, headers = delivery()
    assert client.post(URL, content=big, headers=headers).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        for _ in range(limit // 4096 + 2):
            yield b"y" * 4096

    assert client.post(URL, content=chunks(), headers=headers).status_code == 413
    assert stored(hub) == 0


def test_healthz_reports_database_and_redis(client: httpx.Client) -> None:
    answer: dict[str, Any] = client.get("/healthz").json()
    assert answer == {"ok": True, "database": "ok", "redis": "ok"}


def test_a_delivery_the_database_cannot_store_is_503_in_one_line(hub: Hub, client: httpx.Client,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    from sqlalchemy.exc import OperationalError

    from sync.service import webserver

    def lost(*_args: Any, **_kw: Any) -> Any:  # as pg_terminate_backend leaves a pooled connection
        raise OperationalError("INSERT INTO webhook_events …", {}, ConnectionError("server closed the connection"))

    monkeypatch.setattr(webserver, "store_events", lost)
    body, headers = delivery()
    answer = client.post(URL, content=body, headers=headers)
    assert answer.status_code == 503 and "deliver again" in answer.json()["error"]
    assert stored(hub) == 0 and not any(record.exc_info for record in caplog.records)
    assert any("database is unavailable" in record.getMessage() for record in caplog.records)
