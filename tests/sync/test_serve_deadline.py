"""`serve` closes idle and partial connections after `webhooks.read_timeout_s`, one line each (finding 7)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from connectors.woocommerce.webhooks import signature
from sandbox.runtime import free_port
from store import tables
from store.settings import load_settings
from sync.hub.accounts import add_account
from sync.hub.context import Hub
from sync.service.httpserver import server_config

DEADLINE_S = 0.6


@pytest.fixture
def server(hub_env: dict[str, str], hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Hub, int]]:
    monkeypatch.setenv("MARKETSYNC_WEBHOOKS__READ_TIMEOUT_S", str(DEADLINE_S))
    quick = Hub(load_settings())
    add_account(quick, "woocommerce", "woo", {"url": "http://127.0.0.1:9"},
                {"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "whsec"}, actor="test")
    port = free_port()
    instance = uvicorn.Server(server_config(quick, host="127.0.0.1", port=port, lifespan="off"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield quick, port
    instance.should_exit = True
    thread.join(10)
    quick.close()


def closed_by_server(sock: socket.socket, within_s: float) -> float:
    """Seconds until the server closed the connection (recv returns b''); fails after `within_s`."""
    sock.settimeout(within_s)
    started = time.monotonic()
    while True:
        data = sock.recv(4096)
        if not data:
            return time.monotonic() - started


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def test_an_idle_connection_is_closed_after_the_read_deadline(server: tuple[Hub, int]) -> None:
    _, port = server
    with connect(port) as sock:
        assert closed_by_server(sock, 5) < DEADLINE_S + 2


def test_partial_headers_and_a_partial_body_are_cut_off(server: tuple[Hub, int]) -> None:
    hub, port = server
    with connect(port) as sock:
        sock.sendall(b"POST /webhooks/woocommerce/woo HTTP/1.1\r\nHost: x\r\n")
        assert closed_by_server(sock, 5) < DEADLINE_S + 2
    body = json.dumps({"id": 1}).encode()
    head = (f"POST /webhooks/woocommerce/woo HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body) + 50}\r\n"
            f"X-WC-Webhook-Signature: {signature(body, 'whsec')}\r\nX-WC-Webhook-Topic: order.updated\r\n"
            "X-WC-Webhook-Delivery-ID: d\r\n\r\n").encode()
    with connect(port) as sock:
        sock.sendall(head + body)
        assert closed_by_server(sock, 5) < DEADLINE_S + 2
    with hub.db.session() as session:
        assert session.scalar(select(func.count()).select_from(tables.WebhookEvent)) == 0


def test_a_slow_but_whole_request_and_keep_alive_still_work(server: tuple[Hub, int]) -> None:
    _, port = server
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        assert http.get("/healthz").status_code == 200
        time.sleep(DEADLINE_S / 3)
        assert http.get("/healthz").status_code == 200


def test_clients_that_leave_mid_request_give_one_line_each_and_no_traceback(
        server: tuple[Hub, int], caplog: pytest.LogCaptureFixture) -> None:
    _, port = server
    caplog.set_level(logging.INFO)
    for _ in range(10):
        with connect(port) as sock:
            sock.sendall(b"POST /webhooks/woocommerce/woo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            time.sleep(0.05)
    for _ in range(5):  # these stall until the deadline closes them
        sock = connect(port)
        sock.sendall(b"POST /webhooks/woocommerce/woo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        closed_by_server(sock, 5)
        sock.close()
    time.sleep(0.3)
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in records if r.exc_info or "Traceback" in r.getMessage()]
    assert 1 <= len(records) <= 15
    assert all("\n" not in r.getMessage() for r in records)
