"""`marketsync account add|update|disable|enable|list|show|test|remove`."""

from __future__ import annotations

import os
import sys

import click

from cli.app import App, json_option, pass_app, print_fields, print_json, print_table
from connectors.base import connector_class, installed
from connectors.errors import UnknownPlatform
from sync.hub.accounts import (
    add_account,
    describe,
    get_account,
    list_accounts,
    remove_account,
    set_enabled,
    test_account,
    update_account,
)
from sync.hub.audit import current_user
from sync.stock.push_queue import schedule_pushes


def parse_options(pairs: tuple[str, ...]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--option {pair!r} must look like key=value")
        options[key.strip()] = value
    return options


def read_secret(account: str, key: str) -> str:
    """From env MARKETSYNC_SECRET_<KEY>, else a hidden prompt, else one line of stdin."""
    env_name = f"MARKETSYNC_SECRET_{key.upper()}"
    if os.environ.get(env_name):
        return os.environ[env_name]
    if sys.stdin.isatty():
        value = click.prompt(f"{key} for {account}", hide_input=True)
    else:
        value = sys.stdin.readline().rstrip("\n")
    if not value:
        raise click.UsageError(f"secret {key!r} is empty; set {env_name} or type it at the prompt")
    return str(value)


class AccountAddCommand(click.Command):
    """`account add PLATFORM --help` also lists PLATFORM's options and secrets (its connector's `options`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["platform"] = next((arg for arg in args if not arg.startswith("-")), None)
        return super().parse_args(ctx, args)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        platform = ctx.meta.get("platform")
        try:
            specs = connector_class(platform).options if platform else None
        except UnknownPlatform:
            specs = None
        if specs is None:
            with formatter.section("Platforms"):
                formatter.write_text(f"{', '.join(sorted(installed()))}; "
                                     "`marketsync account add PLATFORM --help` lists a platform's options")
            return
        rows = []
        for spec in specs:
            flag = f"--secret {spec.name}" if spec.secret else f"--option {spec.name}=…"
            notes = [note for note in ("required" if spec.required else "",
                                       f"default {spec.default}" if spec.default is not None else "") if note]
            rows.append((flag, spec.help + (f" ({', '.join(notes)})" if notes else "")))
        with formatter.section(f"{platform} options"):
            formatter.write_dl(rows)


@click.group()
def account() -> None:
    """Connect and manage store accounts."""


@account.command("add", cls=AccountAddCommand)
@click.argument("platform")
@click.argument("name")
@click.option("--option", "option_pairs", multiple=True, metavar="KEY=VALUE", help="A connector option.")
@click.option("--secret", "secret_keys", multiple=True, metavar="KEY",
              help="A secret to read (env MARKETSYNC_SECRET_<KEY>, hidden prompt, or stdin line).")
@pass_app
def account_add(app: App, platform: str, name: str, option_pairs: tuple[str, ...],
                secret_keys: tuple[str, ...]) -> None:
    """Connect a store account on PLATFORM under NAME."""
    hub = app.ready_hub()
    connector_class(platform)  # unknown platform fails before any prompt
    options = parse_options(option_pairs)
    secrets = {key: read_secret(name, key) for key in secret_keys}
    add_account(hub, platform, name, options, secrets, actor=current_user())
    click.echo(f"account {name} ({platform}) added; check it with `marketsync account test {name}`")


@account.command("update")
@click.argument("name")
@click.option("--option", "option_pairs", multiple=True, metavar="KEY=VALUE", help="Set a connector option.")
@click.option("--secret", "secret_keys", multiple=True, metavar="KEY",
              help="Replace a secret (env MARKETSYNC_SECRET_<KEY>, hidden prompt, or stdin line).")
@click.option("--unset", "unset", multiple=True, metavar="KEY", help="Remove an option or secret.")
@pass_app
def account_update(app: App, name: str, option_pairs: tuple[str, ...], secret_keys: tuple[str, ...],
                   unset: tuple[str, ...]) -> None:
    """Change NAME's options or rotate its secrets (e.g. a new URL, a new access token)."""
    if not (option_pairs or secret_keys or unset):
        raise click.UsageError("give at least one --option KEY=VALUE, --secret KEY or --unset KEY")
    hub = app.ready_hub()
    with hub.db.session() as session:
        get_account(session, name)  # an unknown account fails before any prompt
    options = parse_options(option_pairs)
    secrets = {key: read_secret(name, key) for key in secret_keys}
    update_account(hub, name, options, secrets, unset=unset, actor=current_user())
    changed = [*(f"option {k}" for k in options), *(f"secret {k}" for k in secrets), *(f"unset {k}" for k in unset)]
    click.echo(f"account {name} updated ({', '.join(changed)}); check it with `marketsync account test {name}`")


@account.command("disable")
@click.argument("name")
@pass_app
def account_disable(app: App, name: str) -> None:
    """Stop every poll, push and reconcile of NAME (its queued jobs end without doing anything)."""
    changed = set_enabled(app.ready_hub(), name, False, actor=current_user())
    click.echo(f"account {name} {'disabled' if changed else 'was already disabled'}; "
               f"`marketsync account enable {name}` resumes it")


@account.command("enable")
@click.argument("name")
@pass_app
def account_enable(app: App, name: str) -> None:
    """Resume NAME: polls, pushes and reconciliation start again with the next cycle."""
    hub = app.ready_hub()
    changed = set_enabled(hub, name, True, actor=current_user())
    schedule_pushes(hub)  # what waited while it was disabled
    click.echo(f"account {name} {'enabled' if changed else 'was already enabled'}")


@account.command("list")
@json_option
@pass_app
def account_list(app: App, as_json: bool) -> None:
    """List connected accounts."""
    accounts = [describe(a) for a in list_accounts(app.ready_hub())]
    if as_json:
        print_json(accounts)
        return
    print_table("accounts", ["name", "platform", "enabled", "options"],
                ([a["name"], a["platform"], a["enabled"], ", ".join(f"{k}={v}" for k, v in a["options"].items())]
                 for a in accounts))


@account.command("show")
@click.argument("name")
@json_option
@pass_app
def account_show(app: App, name: str, as_json: bool) -> None:
    """Show one account (secret values are never shown)."""
    hub = app.ready_hub()
    with hub.db.session() as session:
        row = get_account(session, name)
        data = describe(row)
        data["secrets"] = sorted(hub.account_config(row).secrets)
    if as_json:
        print_json(data)
    else:
        print_fields(f"account {name}", data)


@account.command("test")
@click.argument("name")
@json_option
@pass_app
def account_test(app: App, name: str, as_json: bool) -> None:
    """Call the platform with the account's credentials and report what it says."""
    health = test_account(app.ready_hub(), name)
    data = {"ok": health.ok, "shop": health.shop_name, "currency": health.currency,
            "granted": list(health.granted), "detail": health.detail}
    if as_json:
        print_json(data)
    elif health.ok:
        print_fields(f"account {name}: ok", data)
    if not health.ok:
        click.echo(f"error: account {name} failed its test: {health.detail}", err=True)
        raise click.exceptions.Exit(1)


@account.command("remove")
@click.argument("name")
@click.option("--force", is_flag=True, help="Remove even while the account has pending work.")
@pass_app
def account_remove(app: App, name: str, force: bool) -> None:
    """Remove an account and everything the hub holds for it."""
    remove_account(app.ready_hub(), name, force=force, actor=current_user())
    click.echo(f"account {name} removed")


commands = [account]
