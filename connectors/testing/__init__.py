"""The connector contract suite, for any connector package (also a pytest plugin).

    # conftest.py of a connector package
    pytest_plugins = ["connectors.testing"]

    # test_contract.py
    from connectors.testing import ConnectorContract

    class TestMyPlatformContract(ConnectorContract):
        platform = "myplatform"

The platform's connector (`marketsync.connectors`) and simulator (`marketsync.simulators`) are
found by name; see `connectors/README.md` for what the suite checks.
"""

from __future__ import annotations

import pytest

from connectors.http import HttpPolicy
from connectors.testing.contract import ConnectorContract, settle, stock_update, wait_for_next_second
from connectors.testing.harness import CONTRACT_POLICY, ContractHarness, SimulatorHarness
from connectors.testing.receiver import Receiver

__all__ = ["CONTRACT_POLICY", "ConnectorContract", "ContractHarness", "Receiver", "SimulatorHarness",
           "contract_policy", "settle", "stock_update", "wait_for_next_second"]


@pytest.fixture
def contract_policy() -> HttpPolicy:
    """An HttpPolicy for tests against a simulator: 0.5 s timeout, 5 attempts, tiny backoff."""
    return CONTRACT_POLICY
