"""The shipped contract suite against the 抖店 simulator."""

from __future__ import annotations

from connectors.testing import ConnectorContract


class TestDouyinContract(ConnectorContract):
    platform = "douyin"
