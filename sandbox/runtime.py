"""What every platform simulator shares.

A simulator is a Starlette app plus the pieces here: a loopback server thread, a clock that
benchmarks can speed up, fault injection (scripted and random), a log of inventory writes,
a request counter, and webhook delivery with retries. Each platform module adds its own API
routes and error shapes on top.
"""

from __future__ import annotations

import asyncio
import queue
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response


class Clock:
    """Monotonic simulated time; `factor` > 1 makes rate buckets refill faster."""

    def __init__(self, factor: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._factor = factor
        self._real_base = time.monotonic()
        self._sim_base = 0.0

    @property
    def factor(self) -> float:
        return self._factor

    def set_factor(self, factor: float) -> None:
        if factor <= 0:
            raise ValueError("clock factor must be > 0")
        with self._lock:
            self._sim_base = self.monotonic()
            self._real_base = time.monotonic()
            self._factor = factor

    def monotonic(self) -> float:
        return self._sim_base + (time.monotonic() - self._real_base) * self._factor

    @staticmethod
    def utcnow() -> datetime:
        return datetime.now(UTC)


@dataclass
class Fault:
    status: int
    retry_after: float | None = None
    timeout: bool = False


@dataclass
class Faults:
    """Faults applied to API requests (never to `/_sandbox/` control routes)."""

    error_rate: float = 0.0
    latency_ms: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = 30.0
    duplicate_webhooks: float = 0.0
    reorder_webhooks: bool = False
    corrupt_ids: set[str] = field(default_factory=set)
    scripted: list[Fault] = field(default_factory=list)
    storm: Fault | None = None   # every API request fails with it until `storm_until` (time.monotonic())
    storm_until: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, status: int, *, retry_after: float | None = None, count: int = 1) -> None:
        """Make the next `count` API requests fail with `status` (0 = a timeout)."""
        with self._lock:
            for _ in range(count):
                self.scripted.append(Fault(status, retry_after, timeout=status == 0))

    def start_storm(self, status: int, seconds: float, *, retry_after: float | None = None) -> None:
        """Every API request for the next `seconds` (wall clock) fails with `status`, however many
        there are: a storm that lasts as long on every platform, whatever pace its client keeps."""
        with self._lock:
            self.storm = Fault(status, retry_after, timeout=status == 0) if seconds > 0 else None
            self.storm_until = time.monotonic() + seconds if seconds > 0 else 0.0

    def take(self) -> Fault | None:
        with self._lock:
            if self.scripted:
                return self.scripted.pop(0)
            if self.storm is not None and time.monotonic() < self.storm_until:
                return self.storm
            roll = self.rng.random()
        if roll < self.timeout_rate:
            return Fault(0, timeout=True)
        if roll < self.timeout_rate + self.error_rate:
            return Fault(503)
        return None

    def configure(self, spec: dict[str, Any]) -> None:
        """Apply a control-plane JSON spec; unknown keys are an error."""
        known = {"error_rate", "latency_ms", "timeout_rate", "timeout_seconds", "duplicate_webhooks",
                 "reorder_webhooks", "corrupt_ids", "next", "storm", "seed"}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}; known: {sorted(known)}")
        for key in ("error_rate", "latency_ms", "timeout_rate", "timeout_seconds", "duplicate_webhooks"):
            if key in spec:
                setattr(self, key, float(spec[key]))
        if "reorder_webhooks" in spec:
            self.reorder_webhooks = bool(spec["reorder_webhooks"])
        if "corrupt_ids" in spec:
            self.corrupt_ids = {str(i) for i in spec["corrupt_ids"]}
        if "seed" in spec:
            self.rng.seed(spec["seed"])
        for item in spec.get("next", []):
            self.next(int(item["status"]), retry_after=item.get("retry_after"), count=int(item.get("count", 1)))
        if "storm" in spec:  # {"status": 429, "seconds": 10, "retry_after": 1}; seconds 0 ends one
            storm = spec["storm"]
            self.start_storm(int(storm.get("status", 429)), float(storm["seconds"]),
                             retry_after=storm.get("retry_after"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "error_rate": self.error_rate, "latency_ms": self.latency_ms, "timeout_rate": self.timeout_rate,
            "timeout_seconds": self.timeout_seconds, "duplicate_webhooks": self.duplicate_webhooks,
            "reorder_webhooks": self.reorder_webhooks, "corrupt_ids": sorted(self.corrupt_ids),
            "scripted": [f.__dict__ for f in self.scripted],
            "storm": None if self.storm is None else {
                **self.storm.__dict__, "seconds_left": round(max(self.storm_until - time.monotonic(), 0.0), 1)},
        }


class WriteLog:
    """Every inventory write the simulator applied, with its simulated and wall time."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(self, kind: str, **detail: Any) -> None:
        with self._lock:
            self._entries.append({"at": datetime.now(UTC).isoformat(), "ts": time.time(), "kind": kind,
                                  **detail})

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class RequestCounter:
    """API requests seen, by a short route label, and how each was answered; `injected` counts the
    answers that were an injected fault, by the fault's status (429, 503, 504 for a stall), whatever
    the answer looked like: a platform that answers errors inside HTTP 200 shows them under 200 in
    `by_status`."""

    def __init__(self) -> None:
        self.by_route: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.injected: Counter[int] = Counter()
        self._lock = threading.Lock()

    def count(self, route: str, status: int, *, injected: int | None = None) -> None:
        with self._lock:
            self.by_route[route] += 1
            self.by_status[status] += 1
            if injected is not None:
                self.injected[injected] += 1

    def reset(self) -> None:
        with self._lock:
            self.by_route.clear()
            self.by_status.clear()
            self.injected.clear()

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"total": sum(self.by_route.values()), "by_route": dict(self.by_route),
                    "by_status": {str(k): v for k, v in self.by_status.items()},
                    "injected": {str(k): v for k, v in self.injected.items()}}


ErrorResponder = Callable[[Request, Fault], Response]


class FaultMiddleware(BaseHTTPMiddleware):
    """Applies latency, scripted and random faults to every API route, and counts requests."""

    def __init__(self, app: Any, *, faults: Faults, counter: RequestCounter, error: ErrorResponder,
                 label: Callable[[Request], str]) -> None:
        super().__init__(app)
        self.faults, self.counter, self.error, self.label = faults, counter, error, label

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path.startswith("/_sandbox"):
            return await call_next(request)
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        fault = self.faults.take()
        if fault and fault.timeout:
            await asyncio.sleep(self.faults.timeout_seconds)
            fault = Fault(504)
        try:
            response = self.error(request, fault) if fault else await call_next(request)
        except ClientDisconnect:  # the client gave up mid-body (its timeout): nobody reads an answer, no traceback
            response = Response(status_code=499)
        self.counter.count(self.label(request), response.status_code, injected=fault.status if fault else None)
        return response


@dataclass
class Delivery:
    url: str
    body: bytes
    headers: dict[str, str]
    attempts: int = 0
    delivered: bool = False
    last_status: int | None = None


class WebhookSender:
    """Delivers webhooks from a background thread, retrying non-2xx answers with backoff.

    `on_result(delivery, ok)` lets a platform react (WooCommerce disables a hook after more
    than five consecutive failures). Duplicate and reordered deliveries come from `faults`.
    """

    def __init__(self, faults: Faults, *, max_attempts: int = 8, base_delay: float = 0.2,
                 on_result: Callable[[Delivery, bool], None] | None = None) -> None:
        self.faults, self.max_attempts, self.base_delay = faults, max_attempts, base_delay
        self.on_result = on_result
        self.log: list[Delivery] = []
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._held: list[Delivery] = []
        self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
        self._thread.start()

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        delivery = Delivery(url, body, headers)
        copies = 2 if self.faults.rng.random() < self.faults.duplicate_webhooks else 1
        if self.faults.reorder_webhooks and not self._held:
            self._held.append(delivery)  # held back, released after the next one
            return
        for _ in range(copies):
            self._queue.put(Delivery(url, body, dict(headers)))
        while self._held:
            self._queue.put(self._held.pop())

    def flush(self, timeout: float = 10.0) -> None:
        """Release held deliveries and wait until the queue is drained."""
        while self._held:
            self._queue.put(self._held.pop())
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            while True:
                delivery = self._queue.get()
                if delivery is None:
                    self._queue.task_done()
                    return
                try:
                    self._deliver(client, delivery)
                finally:
                    self._queue.task_done()

    def _deliver(self, client: httpx.Client, delivery: Delivery) -> None:
        while delivery.attempts < self.max_attempts and not delivery.delivered:
            delivery.attempts += 1
            try:
                response = client.post(delivery.url, content=delivery.body, headers=delivery.headers)
                delivery.last_status = response.status_code
                delivery.delivered = 200 <= response.status_code < 300
            except httpx.HTTPError:
                delivery.last_status = None
            if self.on_result:
                self.on_result(delivery, delivery.delivered)
            if not delivery.delivered:
                time.sleep(min(self.base_delay * 2 ** (delivery.attempts - 1), 5.0))
        self.log.append(delivery)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """Serves an ASGI app with uvicorn on loopback from a daemon thread (tests, demo, bench)."""

    def __init__(self, app: Starlette | Callable[..., Awaitable[None]], port: int = 0) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"sandbox-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"sandbox server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Served:
    """A simulator's lifecycle over its `server` (a `ServerThread` it builds in `__init__`): `url`,
    `start` and `stop` (each safe to call twice) and use as a context manager."""

    server: ServerThread
    _running: bool = False

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> Self:
        if not self._running:
            self.server.start()
            self._running = True
        return self

    def stop(self) -> None:
        if self._running:
            self.server.stop()
            self._running = False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
