"""The shipped contract suite against the 微信小店 simulator."""

from __future__ import annotations

from connectors.testing import ConnectorContract


class TestWechatContract(ConnectorContract):
    platform = "wechat"
