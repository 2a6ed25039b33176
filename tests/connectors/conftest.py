"""Fixtures shared by the connector tests: fast HTTP policies and the platform sandboxes.

Sandboxes are real simulators on loopback, started once per module and reseeded per test by
each platform's harness (see `tests/connectors/contract.py`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.http import HttpPolicy

# Short enough that timeout and retry tests stay fast; enough attempts to ride out one fault.
FAST_POLICY = HttpPolicy(timeout_s=0.5, max_attempts=5, max_backoff_s=0.5, base_backoff_s=0.02)


@pytest.fixture
def fast_policy() -> HttpPolicy:
    """An HttpPolicy for tests against a sandbox: 0.5 s timeout, 5 attempts, tiny backoff."""
    return FAST_POLICY


@pytest.fixture(scope="module")
def shopify_sandbox() -> Iterator[object]:
    """A started Shopify simulator (the schema is built once per process), stopped after the module."""
    from sandbox.shopify import ShopifySandbox

    sandbox = ShopifySandbox().start()
    sandbox.faults.timeout_seconds = 2.0  # a "timeout" answers late (504) instead of after 30 s
    yield sandbox
    sandbox.stop()
