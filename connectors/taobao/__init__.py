"""The 淘宝/天猫 connector (TOP): `client` (signed gateway calls, TOP errors onto the hub's classes),
`normalise` (payloads to canonical records), `writers` (stock writes, per item in batches),
`carriers` (hub carrier names to Taobao's company codes), `connector` (the `Connector`)."""

from connectors.taobao.connector import TaobaoConnector

__all__ = ["TaobaoConnector"]
