"""The shipped contract suite against the 快手 simulator (no push faults: the suite counts deliveries)."""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.testing import ConnectorContract


class TestKuaishouContract(ConnectorContract):
    platform = "kuaishou"
    seed_products = 12  # the item list pages by 10 at least: more than one page of items
    simulator_options: ClassVar[dict[str, Any]] = {"push_duplicate_rate": 0.0, "push_loss_rate": 0.0}
