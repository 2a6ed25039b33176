"""`marketsync account add|list|show|test|remove`."""

from __future__ import annotations

import os
import sys

import click

from cli.app import App, json_option, pass_app, print_fields, print_json, print_table
from connectors.base import connector_class
from sync.accounts import add_account, describe, get_account, list_accounts, remove_account, test_account
from sync.audit import current_user


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


@click.group()
def account() -> None:
    """Connect and manage store accounts."""


@account.command("add")
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
    else:
        print_fields(f"account {name}: {'ok' if health.ok else 'FAILED'}", data)
    if not health.ok:
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
