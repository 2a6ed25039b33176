"""Accounts through the real CLI, against the WooCommerce simulator on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from sync.hub.context import Hub
from sync.service.workers import make_worker


@pytest.fixture(scope="module")
def woo() -> Iterator[WooCommerceSandbox]:
    with WooCommerceSandbox(seed=1) as sandbox:
        yield sandbox


def add_woo(cli, woo: WooCommerceSandbox, name: str = "woo", secret: str | None = None):
    env = {"MARKETSYNC_SECRET_CONSUMER_KEY": woo.consumer_key,
           "MARKETSYNC_SECRET_CONSUMER_SECRET": secret or woo.consumer_secret}
    return cli("account", "add", "woocommerce", name, "--option", f"url={woo.url}",
               "--secret", "consumer_key", "--secret", "consumer_secret", env=env)


def test_add_list_show_test_remove(cli, hub: Hub, woo: WooCommerceSandbox) -> None:
    added = add_woo(cli, woo)
    assert added.exit_code == 0, added.output
    listed = json.loads(cli("account", "list", "--json").output)
    assert [(a["name"], a["platform"]) for a in listed] == [("woo", "woocommerce")]
    shown = cli("account", "show", "woo", "--json")
    assert json.loads(shown.output)["secrets"] == ["consumer_key", "consumer_secret"]
    assert woo.consumer_secret not in shown.output
    tested = cli("account", "test", "woo", "--json")
    assert tested.exit_code == 0, tested.output
    assert json.loads(tested.output)["currency"] == "EUR"
    assert cli("account", "remove", "woo").exit_code == 0
    assert json.loads(cli("account", "list", "--json").output) == []


def test_secrets_are_encrypted_at_rest(cli, hub: Hub, woo: WooCommerceSandbox) -> None:
    assert add_woo(cli, woo).exit_code == 0
    with hub.db.session() as session:
        sealed = session.scalar(select(tables.Account.secrets))
    assert sealed and woo.consumer_secret not in sealed and woo.consumer_key not in sealed
    with hub.db.engine.connect() as connection:
        dump = "\n".join(str(row) for row in connection.exec_driver_sql("SELECT * FROM accounts"))
    assert woo.consumer_secret not in dump


def test_secret_from_stdin(cli, hub: Hub, woo: WooCommerceSandbox) -> None:
    result = cli("account", "add", "woocommerce", "piped", "--option", f"url={woo.url}",
                 "--secret", "consumer_key", "--secret", "consumer_secret", input=f"{woo.consumer_key}\n",
                 env={"MARKETSYNC_SECRET_CONSUMER_SECRET": woo.consumer_secret})
    assert result.exit_code == 0, result.output
    assert cli("account", "test", "piped").exit_code == 0


def test_failed_test_shows_the_platform_message_not_the_secret(cli, hub: Hub, woo: WooCommerceSandbox) -> None:
    assert add_woo(cli, woo, "bad", secret="cs_wrong_secret_value").exit_code == 0
    result = cli("account", "test", "bad")
    assert result.exit_code == 1
    assert "Invalid signature - provided signature does not match" in result.output
    assert "cs_wrong_secret_value" not in result.output


def test_bad_input_is_refused_and_nothing_written(cli, hub: Hub, woo: WooCommerceSandbox) -> None:
    assert add_woo(cli, woo).exit_code == 0
    duplicate = add_woo(cli, woo)
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    unknown = cli("account", "add", "ebay", "x")
    assert unknown.exit_code == 1 and "installed: " in unknown.output
    assert all(name in unknown.output.split("installed: ")[1] for name in ("shopify", "woocommerce"))
    missing = cli("account", "add", "woocommerce", "nourl", env={"MARKETSYNC_SECRET_CONSUMER_KEY": "ck"},
                  input="\n")
    assert missing.exit_code == 1 and "needs 'url'" in missing.output
    wrong_key = cli("account", "add", "woocommerce", "typo", "--option", "adress=x")
    assert wrong_key.exit_code == 1 and "no option 'adress'" in wrong_key.output
    assert [a["name"] for a in json.loads(cli("account", "list", "--json").output)] == ["woo"]
    assert cli("account", "show", "nobody").output.startswith("error: no account named 'nobody'")


def test_wrong_encryption_key_is_one_clear_line(cli, hub: Hub, woo: WooCommerceSandbox, monkeypatch) -> None:
    from cryptography.fernet import Fernet

    assert add_woo(cli, woo).exit_code == 0
    monkeypatch.setenv("MARKETSYNC_SECRET_KEY", Fernet.generate_key().decode())
    result = cli("account", "test", "woo")
    assert result.exit_code == 1
    assert "encryption key is not the one" in result.output and result.output.count("\n") == 1


def test_remove_refuses_pending_work_without_force(cli, hub: Hub, woo: WooCommerceSandbox) -> None:
    assert add_woo(cli, woo).exit_code == 0
    with hub.db.session() as session:
        account = session.scalar(select(tables.Account))
        assert account is not None
        session.add(tables.WebhookEvent(platform="woocommerce", event_id="1", account_id=account.id,
                                        topic="order.created", payload="{}"))
    refused = cli("account", "remove", "woo")
    assert refused.exit_code == 1 and "pending work" in refused.output and "--force" in refused.output
    assert cli("account", "remove", "woo", "--force").exit_code == 0
    with hub.db.session() as session:
        assert session.scalar(select(tables.WebhookEvent)) is None


def test_update_rotates_a_secret_and_changes_an_option(cli, hub: Hub, woo: WooCommerceSandbox) -> None:
    assert add_woo(cli, woo, "rot", secret="cs_wrong_secret_value").exit_code == 0
    failed = cli("account", "test", "rot")
    assert failed.exit_code == 1 and "Invalid signature" in failed.stderr and failed.stdout == ""
    rotated = cli("account", "update", "rot", "--secret", "consumer_secret", "--option", "page_size=50",
                  env={"MARKETSYNC_SECRET_CONSUMER_SECRET": woo.consumer_secret})
    assert rotated.exit_code == 0, rotated.output
    assert woo.consumer_secret not in rotated.output
    assert cli("account", "test", "rot").exit_code == 0
    shown = json.loads(cli("account", "show", "rot", "--json").output)
    assert shown["options"]["page_size"] == "50" and shown["secrets"] == ["consumer_key", "consumer_secret"]
    assert "has no option 'colour'" in cli("account", "update", "rot", "--option", "colour=red").stderr
    assert cli("account", "update", "rot", "--unset", "page_size").exit_code == 0
    assert "page_size" not in json.loads(cli("account", "show", "rot", "--json").output)["options"]
    assert cli("account", "update", "rot", "--unset", "url").exit_code == 1  # required: refused
    with hub.db.session() as session:
        actions = session.scalars(select(tables.AuditEntry.action)).all()
    assert actions.count("account.update") == 2


def test_disable_enable_and_remove_leave_no_failing_jobs(cli, hub: Hub, woo: WooCommerceSandbox) -> None:
    from rq.registry import FailedJobRegistry

    from sync.catalog.importing import enqueue_refresh
    from sync.hub.queues import all_queues, enqueue_unique
    from sync.orders.polling import enqueue_poll

    def queue_everything(account_id: int) -> None:
        enqueue_poll(hub, account_id)
        enqueue_refresh(hub, account_id)
        enqueue_unique(hub.redis, "stock", "sync.jobs.reconcile_account", (account_id,),
                       f"reconcile-{account_id}")
        enqueue_unique(hub.redis, "stock", "sync.jobs.push_stock", (account_id,), f"push-stock-{account_id}")

    def work() -> int:
        queues = all_queues(hub.redis)
        make_worker(hub.redis).work(burst=True, logging_level="WARNING", with_scheduler=False)
        return sum(FailedJobRegistry(queue=q).count for q in queues)

    assert add_woo(cli, woo, "paused").exit_code == 0
    with hub.db.session() as session:
        account_id = session.scalar(select(tables.Account.id).where(tables.Account.name == "paused"))
    assert cli("account", "disable", "paused").exit_code == 0
    assert json.loads(cli("account", "list", "--json").output)[0]["enabled"] is False
    queue_everything(account_id)
    assert work() == 0
    with hub.db.session() as session:  # a disabled account is polled, refreshed and reconciled by nothing
        assert session.scalars(select(tables.SyncRun).where(tables.SyncRun.account_id == account_id)).all() == []
        assert session.scalar(select(tables.Listing.id)) is None
    assert "already disabled" in cli("account", "disable", "paused").output
    assert cli("account", "enable", "paused").exit_code == 0
    queue_everything(account_id)
    assert cli("account", "remove", "paused", "--force").exit_code == 0
    assert work() == 0  # queued for an account that is gone: they end cleanly, none fails
