"""Connecting started simulators through the real CLI, as a merchant does (`account add` with the
options and secrets each simulator's `account_setup` names, secrets from the environment)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.interface import Simulator


def add_accounts(cli: Any, simulators: Mapping[str, Simulator]) -> None:
    """`marketsync account add PLATFORM NAME …` for each (name, simulator)."""
    for name, simulator in simulators.items():
        setup = simulator.account_setup()
        args = ["account", "add", setup.platform, name]
        for key, value in setup.options.items():
            args += ["--option", f"{key}={value}"]
        for key in setup.secrets:
            args += ["--secret", key]
        env = {f"MARKETSYNC_SECRET_{key.upper()}": value for key, value in setup.secrets.items()}
        added = cli(*args, env=env)
        assert added.exit_code == 0, added.output
