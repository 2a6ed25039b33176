"""The 快手小店 (Kuaishou shop) connector: signed open-platform calls, delta-only stock guarded by a
write journal, cursor lists over bounded windows, encrypted pushes. See `connectors.kuaishou.connector`."""

from connectors.kuaishou.connector import KuaishouConnector

__all__ = ["KuaishouConnector"]
