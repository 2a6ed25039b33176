"""The 抖店 (Douyin shop) connector: signed gateway, incremental stock with idempotency ids, windowed
order and after-sale polling, signed pushes. See `connectors.douyin.connector`."""

from connectors.douyin.connector import DouyinConnector

__all__ = ["DouyinConnector"]
