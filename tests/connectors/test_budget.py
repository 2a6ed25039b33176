"""The per-account rate budget, in one process and shared through a real Redis."""

from __future__ import annotations

import pytest

from connectors.budget import LocalBudget, RedisBudget


@pytest.fixture(params=["local", "redis"])
def budget(request: pytest.FixtureRequest, redis_client):
    if request.param == "local":
        return LocalBudget(maximum=100, restore_rate=1)
    return RedisBudget(redis_client, "acct", maximum=100, restore_rate=1)


def balance(budget) -> float:
    if isinstance(budget, LocalBudget):
        return budget.available
    return float(budget.redis.hget(budget.key, "available"))


def test_reserve_takes_points_without_waiting_while_they_last(budget) -> None:
    assert budget.reserve(60) == 0
    assert balance(budget) == pytest.approx(40, abs=1)


def test_a_report_never_forgets_reservations_still_in_flight(budget) -> None:
    budget.reserve(50)          # worker A's request, not yet answered
    budget.reserve(40)          # worker B's request, not yet answered
    # A's answer: the platform has seen only A's cost so far.
    budget.observe(available=50, maximum=100, restore_rate=1)
    assert balance(budget) == pytest.approx(10, abs=1)


def test_a_lower_report_is_believed(budget) -> None:
    budget.reserve(10)
    budget.observe(available=5, maximum=100, restore_rate=1)
    assert balance(budget) == pytest.approx(5, abs=1)


def test_reserve_waits_for_the_refill(budget) -> None:
    budget.observe(available=0, maximum=100, restore_rate=50)
    waited = budget.reserve(5)
    assert waited > 0


def test_pause_blocks_every_worker_sharing_the_account(redis_client) -> None:
    first = RedisBudget(redis_client, "shared", maximum=100, restore_rate=100)
    second = RedisBudget(redis_client, "shared", maximum=100, restore_rate=100)
    first.pause(0.2)
    assert second.reserve(1) >= 0.1
