"""Taobao, 拼多多 and 京东 accounts through the real CLI: help lists each platform's options, and an
account added from a simulator's setup passes `account test`."""

from __future__ import annotations

import json

import pytest

from sandbox.interface import start_simulator
from sync.hub.context import Hub
from tests.sync.simulator_world import add_accounts

REQUIRED = {
    "taobao": ("--option app_key=", "--secret app_secret", "--secret session"),
    "pinduoduo": ("--option client_id=", "--secret client_secret", "--secret access_token", "--secret refresh_token"),
    "jd": ("--option app_key=", "--secret app_secret", "--secret access_token", "--option rate_limit_codes="),
}


@pytest.mark.parametrize("platform", sorted(REQUIRED))
def test_account_add_help_lists_the_platforms_options(cli, platform: str) -> None:
    shown = cli("account", "add", platform, "--help")
    assert shown.exit_code == 0, shown.output
    assert f"{platform} options" in shown.output
    for entry in REQUIRED[platform]:
        assert entry in shown.output, (platform, entry)
    assert "safety_lag_seconds" in shown.output


def test_help_for_an_unknown_platform_names_the_installed_ones(cli) -> None:
    shown = cli("account", "add", "nosuch", "--help")
    assert "Platforms" in shown.output and all(p in shown.output for p in ("taobao", "pinduoduo", "jd"))


@pytest.mark.parametrize("platform", sorted(REQUIRED))
def test_an_account_on_the_simulator_is_added_and_tested(cli, hub: Hub, platform: str) -> None:
    simulator = start_simulator(platform, seed=1)
    try:
        setup = simulator.account_setup()
        add_accounts(cli, {"shop": simulator})
        tested = cli("account", "test", "shop", "--json")
        assert tested.exit_code == 0, tested.output
        assert json.loads(tested.output)["currency"] == "CNY"
        shown = cli("account", "show", "shop", "--json")
        assert all(value not in shown.output for value in setup.secrets.values())
    finally:
        simulator.stop()
