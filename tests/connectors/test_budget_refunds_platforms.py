"""Every platform's client gives back the points of a request the platform did not charge (finding 3).

Each simulator answers every API request with HTTP 502, or is stopped (connection refused). The
account's buckets hold two points and refill one in 100 s: a client that kept the points of its
failed attempts would wait in `reserve` after the second one; one that gives them back fails after
its configured backoff.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import AccountConfig, connector_class
from connectors.budget import DEFAULT_BUCKET, BucketSpec, LocalBudget, LocalBudgets
from connectors.errors import ConnectorError, Transient
from connectors.http import HttpPolicy
from sandbox.interface import installed_simulators, start_simulator

PLATFORMS = sorted(installed_simulators())
TINY = BucketSpec(maximum=2, restore_rate=0.01)
POLICY = HttpPolicy(timeout_s=5, max_attempts=5, base_backoff_s=0.01, max_backoff_s=0.02)


def read_orders(platform: str, setup: Any, budgets: LocalBudgets) -> BaseException | str | None:
    """Read the account's orders in a thread: the error it ended with, "read" when it read without one,
    or None when it was still waiting after 20 s."""
    account = AccountConfig("refused", platform, dict(setup.options), dict(setup.secrets))
    connector = connector_class(platform)(account, policy=POLICY, budgets=budgets)
    outcome: list[BaseException | str] = []

    def run() -> None:
        try:
            list(connector.orders(updated_since=datetime(2026, 1, 1, tzinfo=UTC)))
            outcome.append("read")
        except BaseException as exc:  # handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=20)
    return outcome[0] if outcome else None


def tiny_budgets(platform: str) -> LocalBudgets:
    buckets = {name: TINY for name in connector_class(platform).rate_buckets}
    return LocalBudgets({DEFAULT_BUCKET: TINY, "app": TINY, **buckets})


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["http-502", "no-answer"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_failed_request_gives_its_points_back(platform: str, fault: str) -> None:
    simulator = start_simulator(platform, seed=1)
    setup = simulator.account_setup()
    if fault == "http-502":
        simulator.faults.next(502, count=1000)
    else:
        simulator.stop()
    budgets = tiny_budgets(platform)
    try:
        error = read_orders(platform, setup, budgets)
    finally:
        if fault == "http-502":
            simulator.stop()
    assert error is not None, f"{platform}: still waiting for rate points after 20 s (failed attempts kept them)"
    assert isinstance(error, Transient | ConnectorError), error
    for bucket, budget in budgets._made.items():
        if isinstance(budget, LocalBudget):
            assert budget.available == pytest.approx(TINY.maximum, abs=0.5), f"{platform} bucket {bucket}"


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("platform", PLATFORMS)
def test_orders_import_against_a_dead_shop_gives_up_within_its_backoff(platform: str, hub, cli) -> None:
    from sync.hub.accounts import add_account

    simulator = start_simulator(platform, seed=1)
    setup = simulator.account_setup()
    simulator.stop()  # nothing listens there any more: every attempt is refused
    add_account(hub, platform, "dead", dict(setup.options), dict(setup.secrets), actor="test")
    started = time.monotonic()
    result = cli("orders", "import", "dead", "--since", "2026-01-01")
    elapsed = time.monotonic() - started
    assert result.exit_code != 0, result.output
    assert "connection failed" in result.output or "did not answer" in result.output, result.output
    assert elapsed < 30, f"{platform}: gave up after {elapsed:.1f} s"  # 6 attempts, backoff ≤ ~8 s in all
