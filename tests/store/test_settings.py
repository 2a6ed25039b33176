from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from store.settings import REPO_DEFAULTS, Settings, SettingsError, load_settings, masked


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("MARKETSYNC_"):
            monkeypatch.delenv(key)


def test_settings_toml_documents_exactly_the_model_defaults() -> None:
    with REPO_DEFAULTS.open("rb") as handle:
        documented = tomllib.load(handle)
    defaults = Settings.model_construct().model_dump(mode="json")
    for section, values in documented.items():
        assert values == defaults[section], section
    assert set(defaults) - set(documented) == {"accounts", "skus"}


def test_env_overrides_config_file_which_overrides_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[workers]\ncount = 4\n[stock.rules]\nbuffer = 2\n[accounts.shop1]\nbuffer = 5\n')
    settings = load_settings(config)
    assert settings.workers.count == 4 and settings.stock.rules.buffer == 2
    assert settings.stock.rules.percent == 100
    assert settings.accounts == {"shop1": {"buffer": 5}}
    monkeypatch.setenv("MARKETSYNC_WORKERS__COUNT", "8")
    monkeypatch.setenv("MARKETSYNC_STOCK__RULES__PERCENT", "50")
    settings = load_settings(config)
    assert settings.workers.count == 8 and settings.stock.rules.percent == 50 and settings.stock.rules.buffer == 2


def test_malformed_toml_is_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[workers\ncount = 1")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(config)


def test_unknown_or_invalid_keys_name_the_key_and_the_env_variable(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[stock]\ndrift_policy = 'sometimes'\n")
    with pytest.raises(SettingsError, match=r"stock\.drift_policy.*MARKETSYNC_STOCK__DRIFT_POLICY"):
        load_settings(config)
    config.write_text("[workers]\ncolor = 'red'\n")
    with pytest.raises(SettingsError, match=r"workers\.color"):
        load_settings(config)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_masked_hides_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETSYNC_REDIS__URL", "redis://:s3cret@host:6379/0")
    monkeypatch.setenv("MARKETSYNC_DATABASE__URL", "postgresql://u:pw@h/db")
    data = masked(load_settings())
    assert data["redis"]["url"] == "redis://:********@host:6379/0"
    assert data["database"]["url"] == "postgresql://u:********@h/db"


def test_home_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETSYNC_HOME", "/tmp/elsewhere")
    assert load_settings().workspace.home == "/tmp/elsewhere"
    assert load_settings(home="/x").workspace.home == "/x"
