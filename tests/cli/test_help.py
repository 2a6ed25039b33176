"""Every command and group has help text, and --help works for each."""

from __future__ import annotations

from collections.abc import Iterator

import click

from cli.main import cli as root


def walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from walk(sub, (*path, name))


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
