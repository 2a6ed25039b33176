"""The `marketsync` command group. Each command module in this package exposes `commands`, a list
of click commands or groups, and `COMMANDS` says which module holds each: only the module of the
command being run is imported, not every other command's part of the engine (issue #16 counts each
hub process's start). `tests/cli/test_help.py` checks that `COMMANDS` names every command of every
module."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click

from cli.app import App, debug_requested, run_guarded

INFRASTRUCTURE = {"app", "main"}

# command name -> the module of cli/ that defines it
COMMANDS = {
    "account": "accounts", "alerts": "alerts", "catalog": "catalog", "config": "setup", "conflicts": "conflicts",
    "demo": "demo", "init": "setup", "jobs": "workers", "kits": "kits", "listings": "listings",
    "locations": "locations", "orders": "orders", "planning": "planning", "privacy": "privacy", "report": "report",
    "returns": "returns", "run": "run", "sandbox": "sandbox", "scheduler": "run", "serve": "serve", "ship": "ship",
    "status": "setup", "stock": "stock", "supply": "supply", "sync": "run", "webhooks": "webhooks",
    "worker": "workers",
}


class LazyGroup(click.Group):
    """A group whose commands are imported when they are asked for (run, or listed by --help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        found = {c.name: c for c in importlib.import_module(f"cli.{module}").commands}
        return found.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", type=click.Path(dir_okay=False), envvar="MARKETSYNC_CONFIG",
              help="TOML file overriding settings.toml (env MARKETSYNC_CONFIG).")
@click.option("--home", type=click.Path(file_okay=False), help="Workspace folder (env MARKETSYNC_HOME).")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(package_name="marketsync")
@click.pass_context
def cli(ctx: click.Context, config: str | None, home: str | None, debug: bool) -> None:
    """marketsync: one catalogue, one stock ledger, every order and shipment across your channels."""
    app = App(config=config, home=home, debug=debug)
    ctx.obj = app
    ctx.call_on_close(app.close)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = debug_requested(args)

    def invoke() -> int:
        # Non-standalone click returns the code of a `click.exceptions.Exit` instead of raising it.
        code = cli.main(args=args, prog_name="marketsync", standalone_mode=False)
        return code if isinstance(code, int) else 0

    return run_guarded(invoke, debug)


if __name__ == "__main__":
    sys.exit(main())
