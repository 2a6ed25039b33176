"""Every command and group has help text, and --help works for each."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from collections.abc import Iterator

import click

import cli as package
from cli.main import COMMANDS, INFRASTRUCTURE
from cli.main import cli as root


def walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        context = click.Context(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None, (path, name)
            yield from walk(sub, (*path, name))


def test_the_command_index_names_every_command_of_every_module() -> None:
    defined = {}
    for module in pkgutil.iter_modules(package.__path__):
        if module.name in INFRASTRUCTURE or module.name.startswith("_"):
            continue
        for command in getattr(importlib.import_module(f"cli.{module.name}"), "commands", []):
            defined[command.name] = module.name
    assert defined == COMMANDS


def test_a_command_imports_only_its_own_module() -> None:
    """`marketsync catalog …` loads cli.catalog, not the other commands nor every job (sync.jobs)."""
    code = ("import sys\nfrom cli.main import cli\nimport click\n"
            "cli.get_command(click.Context(cli), 'catalog')\n"
            "print(sorted(m for m in sys.modules if m.startswith('cli.') or m == 'sync.jobs'))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['cli.app', 'cli.catalog', 'cli.main']"


def test_every_command_has_help_text(cli) -> None:
    commands = list(walk(root))
    assert len(commands) > 10
    for path, command in commands:
        assert (command.help or "").strip(), f"`marketsync {' '.join(path)}` has no help text"
        result = cli(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_usage_errors_exit_2_and_failures_exit_1(cli, tmp_path) -> None:
    assert cli("no-such-command").exit_code == 2
    result = cli("--home", str(tmp_path / "ws"), "account", "list")
    assert result.exit_code == 1
    assert result.output.strip().startswith("error:") and "marketsync init" in result.output
    assert "Traceback" not in result.output


def test_account_add_help_lists_each_platforms_options(cli) -> None:
    from connectors.base import connector_class, installed

    for platform in ("douyin", "kuaishou", "wechat", "shopify", "woocommerce"):
        result = cli("account", "add", platform, "--help")
        assert result.exit_code == 0, result.output
        assert f"{platform} options" in result.output
        for spec in connector_class(platform).options:
            flag = f"--secret {spec.name}" if spec.secret else f"--option {spec.name}="
            assert flag in result.output, (platform, spec.name)
    # a self-hosted or local store (a simulator): Shopify's base_url, WooCommerce's url
    assert "--option base_url=" in cli("account", "add", "shopify", "--help").output
    assert "--option url=" in cli("account", "add", "woocommerce", "--help").output
    listing = cli("account", "add", "--help").output
    assert all(name in listing for name in installed())
