"""The 微信小店 (WeChat shop) connector: access tokens with refresh, delta stock guarded by a write
journal, windowed order and after-sale polling, signed (safe-mode) pushes. See `connectors.wechat.connector`."""

from connectors.wechat.connector import WechatConnector

__all__ = ["WechatConnector"]
