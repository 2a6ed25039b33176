"""The 京东 JOS connector: `client` (signed `/routerjson` calls, JOS errors onto the hub's classes),
`normalise` (payloads to canonical records, masks kept), `carriers` (hub carrier names to JD's
carrier ids), `connector` (the `Connector`)."""

from connectors.jd.connector import JdConnector

__all__ = ["JdConnector"]
