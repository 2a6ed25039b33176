"""The per-account rate budget, in one process and shared through a real Redis."""

from __future__ import annotations

import pytest

from connectors.budget import RedisBudget
from tests.connectors.budget_helpers import balance


def test_reserve_takes_points_without_waiting_while_they_last(budget) -> None:
    assert budget.reserve(60) == 0
    assert balance(budget) == pytest.approx(40, abs=1)


def test_a_report_keeps_other_workers_reservations_in_flight(budget) -> None:
    budget.reserve(50)          # worker A's request
    budget.reserve(40)          # worker B's request, not yet answered
    # A's answer: the platform has charged only A (and refunded part of it: actual cost 30).
    budget.settle(50, available=70, maximum=100, restore_rate=1)
    assert balance(budget) == pytest.approx(30, abs=1)   # 70 reported - 40 still in flight
    budget.settle(40, available=45, maximum=100, restore_rate=1)
    assert balance(budget) == pytest.approx(45, abs=1)   # nothing in flight: the platform's figure


def test_refunded_points_come_back(budget) -> None:
    budget.reserve(90)
    budget.settle(90, available=95, maximum=100, restore_rate=1)
    assert balance(budget) == pytest.approx(95, abs=1)


def test_a_failed_request_releases_its_reservation_but_not_its_points(budget) -> None:
    budget.reserve(30)
    budget.settle(30)
    assert balance(budget) == pytest.approx(70, abs=1)
    budget.reserve(10)
    budget.settle(10, available=100, maximum=100, restore_rate=1)
    assert balance(budget) == pytest.approx(100, abs=1)  # nothing left in flight


def test_reserve_waits_for_the_refill(budget) -> None:
    budget.reserve(10)
    budget.settle(10, available=0, maximum=100, restore_rate=50)
    assert budget.reserve(5) > 0


def test_pause_blocks_every_worker_sharing_the_account(redis_client) -> None:
    first = RedisBudget(redis_client, "shared", maximum=100, restore_rate=100)
    second = RedisBudget(redis_client, "shared", maximum=100, restore_rate=100)
    first.pause(0.2)
    assert second.reserve(1) >= 0.1
