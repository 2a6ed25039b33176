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
