"""Pushes to the URL set in the platform's console, with the platform's retry schedule.

A push is accepted only when the receiver answers within the platform's timeout with what the
platform expects (`accepted(response)`); otherwise it is tried again after the next delay of
`retry_delays` (simulated seconds, so a fast clock compresses WeChat's 3.6-hour schedule), and
given up after the last one. `loss_rate` drops a push before it is ever sent and
`duplicate_rate` sends it twice: these platforms promise at-least-once and warn of both; a push made
with `reorder` waits a random moment of up to `REORDER_WINDOW_S` first, so later pushes overtake it
(they promise no order either).
`prepare` builds the request at each attempt, because some platforms sign every attempt anew.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.runtime import Clock

REORDER_WINDOW_S = 1.0  # simulated seconds a reordered push may be held back


@dataclass(frozen=True)
class PreparedPush:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass
class PushDelivery:
    message_ids: tuple[str, ...]
    prepare: Callable[[], PreparedPush]
    due: float
    attempts: int = 0
    delivered: bool = False
    answers: list[str] = field(default_factory=list)
    copy: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"message_ids": list(self.message_ids), "attempts": self.attempts, "delivered": self.delivered,
                "answers": list(self.answers), "copy": self.copy}


class PushQueue:
    def __init__(self, clock: Clock, *, retry_delays: Sequence[float], timeout: float,
                 accepted: Callable[[httpx.Response], bool], seed: int = 7, workers: int = 2) -> None:
        self.clock, self.retry_delays, self.timeout, self.accepted = clock, list(retry_delays), timeout, accepted
        self.loss_rate = 0.0
        self.duplicate_rate = 0.0
        self.rng = random.Random(seed)
        self.finished: list[PushDelivery] = []
        self.lost: list[tuple[str, ...]] = []
        self._pending: list[PushDelivery] = []
        self._in_flight = 0
        self._closed = False
        self._cond = threading.Condition()
        self._threads = [threading.Thread(target=self._run, name=f"push-sender-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def push(self, message_ids: Sequence[str], prepare: Callable[[], PreparedPush], *,
             duplicate_rate: float | None = None, reorder: bool = False) -> None:
        """Queue one push (lost or doubled as the fault rates say; `duplicate_rate` overrides the queue's;
        `reorder` holds it back a random moment, so pushes made after it may arrive first)."""
        with self._cond:
            if self.rng.random() < self.loss_rate:
                self.lost.append(tuple(message_ids))
                return
            doubled = self.duplicate_rate if duplicate_rate is None else duplicate_rate
            copies = 2 if self.rng.random() < doubled else 1
            for copy in range(1, copies + 1):
                due = self.clock.monotonic() + (self.rng.uniform(0, REORDER_WINDOW_S) if reorder else 0.0)
                self._pending.append(PushDelivery(tuple(message_ids), prepare, due, copy=copy))
            self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> None:
        """Make every waiting retry due now and wait until nothing is due or in flight."""
        deadline = time.monotonic() + timeout
        with self._cond:
            now = self.clock.monotonic()
            for delivery in self._pending:
                delivery.due = min(delivery.due, now)
            self._cond.notify_all()
            while (self._in_flight or any(d.due <= self.clock.monotonic() for d in self._pending)) \
                    and time.monotonic() < deadline:
                self._cond.wait(0.02)

    def pending(self) -> int:
        with self._cond:
            return len(self._pending) + self._in_flight

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 1)

    def summary(self) -> dict[str, Any]:
        with self._cond:
            return {"pending": len(self._pending) + self._in_flight, "lost": [list(ids) for ids in self.lost],
                    "finished": [d.as_dict() for d in self.finished]}

    def _next_due(self) -> PushDelivery | None:
        """Under the condition: wait for a due delivery and take it (None once closed)."""
        while not self._closed:
            now = self.clock.monotonic()
            due = [d for d in self._pending if d.due <= now]
            if due:
                delivery = min(due, key=lambda d: d.due)
                self._pending.remove(delivery)
                self._in_flight += 1
                return delivery
            soonest = min((d.due for d in self._pending), default=now + 1.0)
            self._cond.wait(min(max((soonest - now) / self.clock.factor, 0.001), 0.25))
        return None

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while True:
                with self._cond:
                    delivery = self._next_due()
                if delivery is None:
                    return
                self._attempt(client, delivery)
                with self._cond:
                    self._in_flight -= 1
                    if delivery.delivered or delivery.attempts > len(self.retry_delays):
                        self.finished.append(delivery)
                    else:
                        delay = self.retry_delays[delivery.attempts - 1]
                        delivery.due = self.clock.monotonic() + delay
                        self._pending.append(delivery)
                    self._cond.notify_all()

    def _attempt(self, client: httpx.Client, delivery: PushDelivery) -> None:
        delivery.attempts += 1
        request = delivery.prepare()
        try:
            response = client.post(request.url, content=request.body, headers=request.headers)
        except httpx.TimeoutException:
            delivery.answers.append("timeout")
            return
        except httpx.HTTPError as error:
            delivery.answers.append(type(error).__name__)
            return
        delivery.delivered = self.accepted(response)
        delivery.answers.append(str(response.status_code) + ("" if delivery.delivered else " refused"))
