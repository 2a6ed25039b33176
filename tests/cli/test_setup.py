from __future__ import annotations

import json
import os
import stat
from pathlib import Path


def test_init_twice_then_status(cli, hub_env) -> None:
    first = cli("init")
    assert first.exit_code == 0, first.output
    assert "upgraded" in first.output
    second = cli("init")
    assert second.exit_code == 0 and "up to date" in second.output
    key = Path(hub_env["MARKETSYNC_HOME"]) / "secret.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    status = cli("status", "--json")
    assert status.exit_code == 0, status.output
    data = json.loads(status.output)
    assert data["schema"] is not None and data["accounts"] == 0


def test_config_show_masks_secrets(cli, hub_env, monkeypatch) -> None:
    monkeypatch.setenv("MARKETSYNC_REDIS__URL", "redis://:topsecret@127.0.0.1:6379/3")
    result = cli("config", "show", "--json")
    assert result.exit_code == 0
    assert "topsecret" not in result.output
    assert json.loads(result.output)["redis"]["url"].startswith("redis://:****")


def test_malformed_config_is_one_line_and_nothing_is_written(cli, tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[database\n")
    home = tmp_path / "ws"
    result = cli("--config", str(bad), "--home", str(home), "init")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "not valid TOML" in result.output
    assert not home.exists()


def test_unreachable_redis_is_one_clear_line(cli, hub_env, monkeypatch) -> None:
    assert cli("init").exit_code == 0
    monkeypatch.setenv("MARKETSYNC_REDIS__URL", "redis://:pw@127.0.0.1:1/0")
    result = cli("status")
    assert result.exit_code == 1
    assert "cannot reach Redis" in result.output and "pw@" not in result.output


def test_account_and_sku_tables_are_validated_for_every_command(cli, hub, tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.toml"
    good.write_text('[accounts.blog]\nfulfilment_source = true\nbuffer = 2\nprice_ending = ".99"\n'
                    '[skus."A-1"]\nsafety_stock = 1\n[skus."A-1".accounts.blog]\nmax_qty = 5\n')
    assert cli("--config", str(good), "status").exit_code == 0
    pushed = cli("--config", str(good), "listings", "push", "--dry-run")
    assert "unknown key" not in pushed.output, pushed.output
    for text, named in (('[accounts.blog]\ndrift_policy = "adpot"\n', "accounts.blog.drift_policy is invalid"),
                        ("[accounts.blog]\nbufer = 2\n", "accounts.blog has unknown key 'bufer'"),
                        ("[accounts.blog]\nfulfilment_source = \"yes\"\n", "accounts.blog.fulfilment_source"),
                        ('[skus."A-1".accounts.blog]\npercent = 150\n', 'skus."A-1".accounts.blog.percent'),
                        ('[skus."A-1"]\nmax_quantity = 5\n', "unknown key 'max_quantity'")):
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        for command in (("status",), ("worker", "--burst"), ("orders", "list")):
            result = cli("--config", str(bad), *command)
            assert result.exit_code == 1, (text, command, result.output)
            assert named in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_careless_environment_is_one_line_never_an_internal_error(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MARKETSYNC_CONFIG", raising=False)  # an earlier --config leaves it in the process
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("")
    cases = {"MARKETSYNC_DATABASE__URL": ("nonsense", "is not a database URL"),
             "MARKETSYNC_REDIS__URL": ("nonsense", "is not a Redis URL"),
             "MARKETSYNC_HOME": (str(a_file), "is a file, not a folder")}
    for key, (value, said) in cases.items():
        env = {"MARKETSYNC_HOME": str(tmp_path / "ws"), "MARKETSYNC_DATABASE__URL": "", "MARKETSYNC_REDIS__URL": "",
               key: value}
        if key == "MARKETSYNC_REDIS__URL":  # init never talks to Redis; status does
            assert cli("init", env={**env, key: ""}).exit_code == 0
        for command in (("init",), ("status",)):
            if key == "MARKETSYNC_REDIS__URL" and command == ("init",):
                continue
            result = cli(*command, env=env)
            assert result.exit_code == 1, (key, command, result.output)
            assert said in result.stderr and "internal error" not in result.stderr, result.stderr
            assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    unwritable = tmp_path / "locked"
    unwritable.mkdir(mode=0o500)
    result = cli("init", env={"MARKETSYNC_HOME": str(unwritable / "ws"), "MARKETSYNC_DATABASE__URL": ""})
    import os

    if os.geteuid() != 0:  # root writes anywhere
        assert result.exit_code == 1 and "cannot be used" in result.stderr


def test_the_database_file_is_created_private(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MARKETSYNC_CONFIG", raising=False)
    import stat

    home = tmp_path / "ws"
    env = {"MARKETSYNC_HOME": str(home), "MARKETSYNC_DATABASE__URL": "", "MARKETSYNC_SECRET_KEY": ""}
    assert cli("init", env=env).exit_code == 0
    assert cli("status", "--json", env={**env, "MARKETSYNC_REDIS__URL": ""}).exit_code == 0
    for name in ("marketsync.db", "secret.key"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
    for extra in ("marketsync.db-wal", "marketsync.db-shm"):
        if (home / extra).exists():
            assert stat.S_IMODE((home / extra).stat().st_mode) & 0o077 == 0, extra


def test_config_show_names_its_sections_and_json_is_only_json(cli, hub, tmp_path) -> None:  # type: ignore[no-untyped-def]
    shown = cli("config", "show").output
    for section in ("[workspace]", "[database]", "[stock]", "[webhooks]"):
        assert section in shown.splitlines(), section
    import json

    from bench.harness import connect_woocommerce
    from sandbox.catalogue import SeedSpec
    from sandbox.woocommerce import WooCommerceSandbox

    with WooCommerceSandbox(spec=SeedSpec(products=2, variants=1, stock=3)) as woo:
        connect_woocommerce(hub, woo, "woo")
        woo.store.by_sku("MS-0001-1").sku = ""  # a listing without SKU: the refresh opens a conflict
        refreshed = cli("catalog", "refresh", "woo", "--json")
        assert refreshed.exit_code == 0, refreshed.output
        assert json.loads(refreshed.stdout)["opened"] >= 1  # the whole output is one JSON document
        queued = cli("catalog", "refresh", "woo", "--queue", "--json")
        assert json.loads(queued.stdout)["queued"].startswith("refresh-listings-")


def test_tables_fit_the_terminal_and_json_has_the_full_values(cli, hub, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    from cli.app import console
    from store import tables

    long_sku = "MS-" + "VERY-LONG-SKU-" * 8
    with hub.db.session() as session:
        product = tables.Product(title="A product with a rather long title " * 4)
        session.add(product)
        session.flush()
        session.add(tables.Variant(product_id=product.id, sku=long_sku, title="x" * 90))
    monkeypatch.setattr(console, "width", 60)
    shown = cli("catalog", "list")
    assert shown.exit_code == 0, shown.output
    assert max(len(line) for line in shown.output.splitlines()) <= 60, shown.output
    assert json.loads(cli("catalog", "list", "--json").output)[0]["sku"] == long_sku
