"""A stopping worker's waits end at once: rate points, a platform's pause, a retry's backoff (finding 3)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from connectors.budget import LocalBudget, LocalPauseBudget, RedisBudget
from connectors.errors import Interrupted, Transient
from connectors.http import HttpPolicy, call
from connectors.waits import resume_waiting, stop_waiting


@pytest.fixture(autouse=True)
def waiting_again() -> Iterator[None]:
    resume_waiting()
    yield
    resume_waiting()


def stopped_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, stop_waiting)
    timer.start()
    return timer


@pytest.mark.parametrize("kind", ["local", "redis", "pause"])
def test_a_wait_for_rate_points_ends_when_the_worker_stops(kind: str, redis_client) -> None:
    budget = {"local": lambda: LocalBudget(maximum=1, restore_rate=0.01),
              "redis": lambda: RedisBudget(redis_client, "acct", maximum=1, restore_rate=0.01),
              "pause": LocalPauseBudget}[kind]()
    if kind == "pause":
        budget.pause(60)
    else:
        budget.reserve(1)  # empty now: the next point comes in 100 s
    stopped_after(0.3)
    started = time.monotonic()
    with pytest.raises(Interrupted):
        budget.reserve(1)
    assert time.monotonic() - started < 2


def test_a_backoff_ends_when_the_worker_stops_and_is_not_retried() -> None:
    attempts = []

    def refused() -> None:
        attempts.append(1)
        raise Transient("shop", "HTTP 503")

    stopped_after(0.3)
    started = time.monotonic()
    with pytest.raises(Interrupted):
        call(refused, where="shop", policy=HttpPolicy(max_attempts=6, base_backoff_s=20, max_backoff_s=20))
    assert time.monotonic() - started < 2 and len(attempts) == 1


def test_waits_run_their_course_while_nobody_stops() -> None:
    budget = LocalBudget(maximum=1, restore_rate=5)
    budget.reserve(1)
    assert 0.1 < budget.reserve(1) < 1
