from __future__ import annotations

import json
import os
import stat
from pathlib import Path


def test_init_twice_then_status(cli, hub_env) -> None:
    first = cli("init")
    assert first.exit_code == 0, first.output
    assert "upgraded" in first.output
    second = cli("init")
    assert second.exit_code == 0 and "up to date" in second.output
    key = Path(hub_env["MARKETSYNC_HOME"]) / "secret.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    status = cli("status", "--json")
    assert status.exit_code == 0, status.output
    data = json.loads(status.output)
    assert data["schema"] is not None and data["accounts"] == 0


def test_config_show_masks_secrets(cli, hub_env, monkeypatch) -> None:
    monkeypatch.setenv("MARKETSYNC_REDIS__URL", "redis://:topsecret@127.0.0.1:6379/3")
    result = cli("config", "show", "--json")
    assert result.exit_code == 0
    assert "topsecret" not in result.output
    assert json.loads(result.output)["redis"]["url"].startswith("redis://:****")


def test_malformed_config_is_one_line_and_nothing_is_written(cli, tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[database\n")
    home = tmp_path / "ws"
    result = cli("--config", str(bad), "--home", str(home), "init")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "not valid TOML" in result.output
    assert not home.exists()


def test_unreachable_redis_is_one_clear_line(cli, hub_env, monkeypatch) -> None:
    assert cli("init").exit_code == 0
    monkeypatch.setenv("MARKETSYNC_REDIS__URL", "redis://:pw@127.0.0.1:1/0")
    result = cli("status")
    assert result.exit_code == 1
    assert "cannot reach Redis" in result.output and "pw@" not in result.output
