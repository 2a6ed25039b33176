"""The 拼多多 connector: `client` (signed calls, token refresh, PDD errors onto the hub's classes),
`normalise` (payloads to canonical records, masks kept, ciphertext dropped), `carriers` (hub carrier
names to PDD's logistics ids), `connector` (the `Connector`)."""

from connectors.pinduoduo.connector import PddConnector

__all__ = ["PddConnector"]
