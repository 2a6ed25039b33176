"""Fixtures shared by the connector tests: fast HTTP policies and the platform sandboxes.

Sandboxes are real simulators on loopback, started once per module and reseeded per test by
each platform's harness (see `tests/connectors/contract.py`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.budget import LocalBudget, RedisBudget
from connectors.http import HttpPolicy

# Short enough that timeout and retry tests stay fast; enough attempts to ride out one fault.
FAST_POLICY = HttpPolicy(timeout_s=0.5, max_attempts=5, max_backoff_s=0.5, base_backoff_s=0.02)


@pytest.fixture
def fast_policy() -> HttpPolicy:
    """An HttpPolicy for tests against a sandbox: 0.5 s timeout, 5 attempts, tiny backoff."""
    return FAST_POLICY


@pytest.fixture(params=["local", "redis"])
def budget(request: pytest.FixtureRequest, redis_client: object) -> LocalBudget | RedisBudget:
    """A 100-point budget restoring 1 point/s: in one process, and shared through a real Redis."""
    if request.param == "local":
        return LocalBudget(maximum=100, restore_rate=1)
    return RedisBudget(redis_client, "acct", maximum=100, restore_rate=1)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def shopify_sandbox() -> Iterator[object]:
    """A started Shopify simulator (the schema is built once per process), stopped after the module."""
    from sandbox.shopify import ShopifySandbox

    sandbox = ShopifySandbox().start()
    sandbox.faults.timeout_seconds = 2.0  # a "timeout" answers late (504) instead of after 30 s
    yield sandbox
    sandbox.stop()
