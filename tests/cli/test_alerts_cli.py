"""`marketsync alerts` through the real entry point, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sync.hub.context import Hub
from tests.sync.timed_ledger import make_variants, move


def test_alerts_list_history_and_deliveries(hub: Hub, cli: Any) -> None:
    ids = make_variants(hub, "D-1")
    move(hub, ids["D-1"], "r", datetime.now(UTC) - timedelta(days=90), on_hand=4, reason="receive")
    result = cli("alerts", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["evaluation"]["opened"] == 1 and [a["kind"] for a in data["alerts"]] == ["dead_stock"]
    again = json.loads(cli("alerts", "--json").stdout)
    assert again["evaluation"]["still_open"] == 1 and len(again["alerts"]) == 1
    table = cli("alerts", "--kind", "dead_stock")
    assert table.exit_code == 0 and "no order in 60 days" in table.output
    history = json.loads(cli("alerts", "history", "--json").stdout)
    assert [a["status"] for a in history] == ["open"]
    assert json.loads(cli("alerts", "deliveries", "--json").stdout) == []  # no destination configured
    assert cli("alerts", "--kind", "nope").exit_code == 2
    refused = cli("alerts", env={"MARKETSYNC_ALERTS__DISABLED": '["dead_stok"]'})
    assert refused.exit_code == 1 and "unknown alert kind 'dead_stok'" in refused.output


def test_config_show_hides_robot_urls(hub: Hub, cli: Any, tmp_path: Any) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[alerts.destinations.ops]\nwebhook_url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/'
                      'send?key=abc123"\nformat = "wecom"\n')
    shown = cli("--config", str(config), "config", "show")
    assert shown.exit_code == 0, shown.output
    assert "abc123" not in shown.output and "qyapi.weixin.qq.com/********" in shown.output
