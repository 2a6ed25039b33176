"""`marketsync returns` and `orders show` through the real entry point, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from sync.hub.context import Hub
from tests.sync.order_world import ingest, levels, order, ship, shop_fixture  # noqa: F401 - fixtures


def test_returns_cli_flow(hub: Hub, shop: dict[str, Any], cli: Any) -> None:
    ingest(hub, order())
    ship(hub, {"A-1": 3})
    made = cli("returns", "create", "woo:500", "--line", "A-1:1", "--reason", "too small", "--json")
    assert made.exit_code == 0, made.output
    return_id = str(json.loads(made.stdout)["id"])
    assert cli("returns", "receive", return_id).exit_code == 0
    assert "already received" in cli("returns", "receive", return_id).output
    assert cli("returns", "inspect", return_id, "--note", "as new").exit_code == 0
    restocked = json.loads(cli("returns", "restock", return_id, "--json").stdout)
    assert restocked["status"] == "restocked" and levels(hub, shop) == (8, 0)
    refused = cli("returns", "write-off", return_id, "--reason", "x")
    assert refused.exit_code == 1 and "is restocked" in refused.output
    assert cli("returns", "create", "woo:500", "--line", "A-1").exit_code == 2
    too_many = cli("returns", "create", "woo:500", "--line", "A-1:5")
    assert too_many.exit_code == 1 and "2 unit(s) that can come back" in too_many.output
    listed = json.loads(cli("returns", "list", "--order", "woo:500", "--json").stdout)
    assert [r["status"] for r in listed] == ["restocked"]
    shown = cli("orders", "show", "woo:500")
    assert "returns" in shown.output and "too small" in shown.output
    assert cli("returns", "show", return_id).exit_code == 0 and cli("returns", "show", "999").exit_code == 1
