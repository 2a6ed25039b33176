"""What every command shares: the lazily built hub, output helpers and error reporting."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from canonical.errors import MarketsyncError
from sync.hub.current import set_hub

if TYPE_CHECKING:
    from store.settings import Settings
    from sync.hub.context import Hub


@dataclass
class App:
    config: str | None = None
    home: str | None = None
    debug: bool = False
    _hub: Hub | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return self.hub.settings

    @property
    def hub(self) -> Hub:
        if self._hub is None:
            from store.settings import load_settings  # imported here: `--help` and usage errors need neither
            from sync.hub.context import Hub

            if self.config:
                os.environ["MARKETSYNC_CONFIG"] = os.path.abspath(self.config)
            if self.home:
                os.environ["MARKETSYNC_HOME"] = os.path.abspath(self.home)
            self._hub = Hub(load_settings(self.config, home=self.home))
            set_hub(self._hub)
        return self._hub

    def ready_hub(self) -> Hub:
        """The hub, with its database checked to be initialised and current."""
        hub = self.hub
        hub.db.require_current()
        return hub

    def stock_hub(self) -> Hub:
        """The ready hub, with its quantity override tables validated (a bad key fails here)."""
        from mapping.quantity import validate_overrides

        hub = self.ready_hub()
        validate_overrides(hub.settings.accounts, hub.settings.skus)
        return hub

    def close(self) -> None:
        if self._hub is not None:
            self._hub.close()


pass_app = click.make_pass_decorator(App)
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def spinner(text: str) -> Iterator[None]:
    """A spinner on the terminal while a long call runs; nothing when stdout is not a terminal.
    rich's `status` starts its refresh thread even then: it re-rendered 12.5 times a second for
    nobody, ~0.05 CPU-s per second of a piped `stock import` (0.2 of 2.8 CPU-s at 20,000 variants)."""
    if not console.is_terminal:
        yield
        return
    with console.status(text):
        yield


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)


def print_fields(title: str, data: dict[str, Any]) -> None:
    # Titles and values are text, not markup: a section title such as "[stock]" must be shown as is.
    console.print(f"[bold]{escape(title)}[/bold]")
    width = max((len(k) for k in data), default=0)
    for key, value in data.items():
        console.print(f"  {escape(key.ljust(width))}  {escape(str(value))}")


def is_ours(exc: BaseException) -> bool:
    """The hub's own errors (one root, `MarketsyncError`) are printed as they are; anything else is a bug."""
    return isinstance(exc, MarketsyncError)


def report_error(exc: BaseException, debug: bool) -> int:
    """One line on stderr (a traceback with --debug); returns the exit code."""
    if debug:
        import traceback

        traceback.print_exception(exc)
    if is_ours(exc):
        message = str(exc)
    else:
        message = f"internal error ({type(exc).__name__}: {exc}); rerun with --debug for details"
    click.echo(f"error: {message.splitlines()[0] if message else type(exc).__name__}", err=True)
    return 1


def run_guarded(fn: Callable[[], int], debug: bool) -> int:
    try:
        return fn()
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except Exception as exc:  # every failure ends as one clear line
        return report_error(exc, debug)


def debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("MARKETSYNC_DEBUG") == "1"

