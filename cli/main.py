"""The `marketsync` command group. Command modules in this package are found automatically:
each exposes `commands`, a list of click commands or groups."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence

import click

from cli.app import App, debug_requested, run_guarded

INFRASTRUCTURE = {"app", "main"}


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


def _register() -> None:
    import cli as package

    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if module.name in INFRASTRUCTURE or module.name.startswith("_"):
            continue
        for command in getattr(importlib.import_module(f"cli.{module.name}"), "commands", []):
            cli.add_command(command)


_register()


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
