"""`marketsync stock …` and `marketsync locations …`, including bad input."""

from __future__ import annotations

import json
from pathlib import Path

from bench.harness import connect_woocommerce, link_listings
from sandbox.catalogue import SeedSpec
from sandbox.woocommerce import WooCommerceSandbox
from store import tables
from sync.hub.context import Hub


def catalogue(hub: Hub, *skus: str) -> None:
    with hub.db.session() as session:
        product = tables.Product(title="T-shirt")
        session.add(product)
        session.flush()
        session.add_all([tables.Variant(product_id=product.id, sku=sku) for sku in skus])


def levels(cli, *skus: str) -> list[dict]:
    result = cli("stock", "levels", *skus, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_adjust_levels_and_history(cli, hub: Hub) -> None:
    catalogue(hub, "A-1", "B-1")
    first = cli("stock", "adjust", "A-1", "+5", "--reason", "count")
    assert first.exit_code == 0, first.output
    result = cli("stock", "adjust", "A-1", "-2", "--location", "default", "--reason", "damaged")
    assert result.exit_code == 0, result.output
    assert levels(cli, "A-1") == [{"sku": "A-1", "location": "default", "on_hand": 3, "committed": 0,
                                   "available": 3}]
    history = json.loads(cli("stock", "history", "A-1", "--json").output)
    assert [(h["on_hand_delta"], h["reference"]) for h in history] == [(-2, "damaged"), (5, "count")]
    assert history[0]["source"].startswith("user:") and history[0]["key"].startswith("adjust:")
    table = cli("stock", "levels")
    assert "A-1" in table.output and "B-1" not in table.output


def test_adjust_refuses_unknown_sku_location_and_bad_numbers(cli, hub: Hub) -> None:
    catalogue(hub, "A-1")
    unknown = cli("stock", "adjust", "NOPE", "+1", "--reason", "x")
    assert unknown.exit_code == 1 and "unknown SKU 'NOPE'" in unknown.output
    assert len(unknown.output.strip().splitlines()) == 1
    where = cli("stock", "adjust", "A-1", "+1", "--location", "berlin", "--reason", "x")
    assert where.exit_code == 1 and "no hub location 'berlin'" in where.output
    assert "marketsync locations add berlin" in where.output
    assert cli("stock", "adjust", "A-1", "lots", "--reason", "x").exit_code == 2
    assert cli("stock", "levels", "NOPE").exit_code == 1


def test_receive_reports_bad_rows_by_line_and_applies_nothing_until_the_file_is_right(
        cli, hub: Hub, tmp_path: Path) -> None:
    catalogue(hub, "A-1", "B-1")
    assert cli("locations", "add", "berlin", "--name", "Berlin DC").exit_code == 0
    receipt = tmp_path / "delivery.csv"
    good = "sku,location,quantity,reference\nA-1,default,10,PO-7\nB-1,berlin,4,PO-7\n"
    receipt.write_text(good + "ZZZ,default,1,PO-7\n"
                              "A-1,mars,1,PO-7\n"
                              "B-1,default,many,PO-7\n"
                              "B-1,default,-3,PO-7\n"
                              "A-1,default,2,PO-7\n"
                              "B-1,default,1000000001,PO-7\n")
    first = cli("stock", "receive", str(receipt), "--json")
    assert first.exit_code == 1
    report = json.loads(first.stdout)
    assert "6 row(s)" in first.stderr
    assert report["applied"] == 0  # a file is applied whole or not at all
    assert [e["line"] for e in report["errors"]] == [4, 5, 6, 7, 8, 9]
    assert "unknown SKU 'ZZZ'" in report["errors"][0]["error"]
    assert "twice" in report["errors"][4]["error"]
    assert "out of range" in report["errors"][5]["error"]
    assert levels(cli) == []
    plain = cli("stock", "receive", str(receipt))
    assert "line 4: unknown SKU" in plain.output
    receipt.write_text(good)
    fixed = json.loads(cli("stock", "receive", str(receipt), "--json").stdout)
    assert fixed["applied"] == 2 and fixed["errors"] == []
    again = json.loads(cli("stock", "receive", str(receipt), "--json").stdout)
    assert again["repeated"] == 2 and again["applied"] == 0
    assert {(r["sku"], r["location"]): r["on_hand"] for r in levels(cli)} == {("A-1", "default"): 10,
                                                                             ("B-1", "berlin"): 4}


def test_a_reference_received_again_with_other_lines_is_an_error_naming_it(cli, hub: Hub, tmp_path: Path) -> None:
    catalogue(hub, "A-1", "B-1")
    first = tmp_path / "monday.csv"
    first.write_text("sku,location,quantity,reference\nA-1,default,10,PO-8\n")
    assert cli("stock", "receive", str(first)).exit_code == 0
    merged = tmp_path / "merged.csv"
    merged.write_text("sku,location,quantity,reference\nA-1,default,12,PO-8\nB-1,default,3,PO-8\n")
    refused = cli("stock", "receive", str(merged), "--json")
    assert refused.exit_code == 1
    [error] = json.loads(refused.stdout)["errors"]
    assert "reference 'PO-8' was received before with other lines" in error["error"]
    assert {r["sku"]: r["on_hand"] for r in levels(cli)} == {"A-1": 10}


def test_receive_refuses_a_file_that_is_not_utf8_in_one_line(cli, hub: Hub, tmp_path: Path) -> None:
    catalogue(hub, "A-1")
    latin = tmp_path / "excel.csv"
    latin.write_bytes("sku,location,quantity,reference\nA-1,default,1,Liefer-\u00fc\n".encode("latin-1"))
    result = cli("stock", "receive", str(latin))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "is not UTF-8 text" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "internal error" not in result.stderr


def test_quantities_are_bounded_and_the_history_sums_to_the_level(cli, hub: Hub) -> None:
    catalogue(hub, "A-1")
    for huge in ("+9223372036854775807", "+99999999999999999999999", "-1000000001"):
        result = cli("stock", "adjust", "A-1", huge, "--reason", "typo")
        assert result.exit_code == 1, result.output
        assert "out of range" in result.stderr and "internal error" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    for _ in range(2):
        assert cli("stock", "adjust", "A-1", "+1000000000", "--reason", "big delivery").exit_code == 0
    beyond = cli("stock", "adjust", "A-1", "+1000000000", "--reason", "one too many")
    assert beyond.exit_code == 1 and "beyond the ±2,000,000,000" in beyond.stderr
    [row] = levels(cli, "A-1")
    history = json.loads(cli("stock", "history", "A-1", "--json").output)
    assert row["on_hand"] == 2_000_000_000 == sum(h["on_hand_delta"] for h in history)
    assert isinstance(row["on_hand"], int)


def test_a_negative_on_hand_needs_allow_negative_and_adjust_prints_the_new_level(cli, hub: Hub) -> None:
    catalogue(hub, "A-1")
    assert "on_hand 3, committed 0, available 3" in cli("stock", "adjust", "A-1", "+3", "--reason", "count").output
    refused = cli("stock", "adjust", "A-1", "-5", "--reason", "miscount")
    assert refused.exit_code == 1 and "--allow-negative" in refused.stderr
    assert levels(cli, "A-1")[0]["on_hand"] == 3
    allowed = cli("stock", "adjust", "A-1", "-5", "--reason", "shelf says so", "--allow-negative")
    assert allowed.exit_code == 0 and "on_hand -2" in allowed.output
    assert levels(cli, "A-1")[0]["on_hand"] == -2


def test_receive_refuses_a_file_without_the_columns(cli, hub: Hub, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,qty\nA-1,3\n")
    result = cli("stock", "receive", str(bad))
    assert result.exit_code == 1 and "lacks column(s) location, quantity, reference" in result.output


def test_locations_add_map_and_list(cli, hub: Hub) -> None:
    with hub.db.session() as session:
        session.add(tables.Account(name="woo", platform="woocommerce", options={}))
    assert cli("locations", "add", "berlin").exit_code == 0
    assert "already exists" in cli("locations", "add", "berlin").output
    assert cli("locations", "map", "woo", "default", "berlin").exit_code == 0
    rows = json.loads(cli("locations", "list", "--json").output)
    berlin = next(r for r in rows if r["code"] == "berlin")
    assert berlin["channel_locations"] == [{"account": "woo", "channel_location_id": "default", "name": ""}]
    bad = cli("locations", "map", "woo", "default", "paris")
    assert bad.exit_code == 1 and "marketsync locations add paris" in bad.output
    assert "no account named 'nope'" in cli("locations", "map", "nope", "x", "berlin").output
    assert "berlin" in cli("locations", "list").output


def test_import_refuses_without_listings_then_imports_once(cli, hub: Hub) -> None:
    with WooCommerceSandbox(spec=SeedSpec(products=3, variants=1, stock=9)) as woo:
        connect_woocommerce(hub, woo, "woo")
        refused = cli("stock", "import", "--from", "woo")
        assert refused.exit_code == 1 and "marketsync catalog import --from woo" in refused.output
        link_listings(hub, "woo")
        first = json.loads(cli("stock", "import", "--from", "woo", "--json").output)
        assert first["applied"] == 3
        again = json.loads(cli("stock", "import", "--from", "woo", "--json").output)
        assert again["repeated"] == 3 and again["applied"] == 0
        assert [r["on_hand"] for r in levels(cli)] == [9, 9, 9]


def test_explain_prints_the_whole_chain(cli, hub: Hub, tmp_path: Path) -> None:
    config = tmp_path / "rules.toml"
    config.write_text('[accounts.woo]\nbuffer = 2\n[skus."MS-0001-1"]\nsafety_stock = 1\n')
    with WooCommerceSandbox(spec=SeedSpec(products=2, variants=1, stock=9)) as woo:
        connect_woocommerce(hub, woo, "woo")
        link_listings(hub, "woo")
        cli("stock", "import", "--from", "woo")
        data = json.loads(cli("--config", str(config), "stock", "explain", "MS-0001-1", "--json").output)
        account = data["accounts"][0]
        assert data["locations"][0]["on_hand"] == 9
        assert [(s["rule"], s["before"], s["after"]) for s in account["steps"]] == [
            ("available", 9, 9), ("safety_stock", 9, 8), ("buffer", 8, 6)]
        assert account["published"] == 6 and "accounts.woo" in account["steps"][2]["detail"]
        assert account["safety_stock"]["source"] == 'skus."MS-0001-1".safety_stock'
        text = cli("--config", str(config), "stock", "explain", "MS-0001-1", "--account", "woo")
        assert "buffer" in text.output and "published 6" in text.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[skus."MS-0001-1"]\nbufer = 2\n')
    refused = cli("--config", str(bad), "stock", "explain", "MS-0001-1")
    assert refused.exit_code == 1 and "unknown key 'bufer'" in refused.output


def test_a_piped_command_shows_no_spinner_and_starts_no_thread() -> None:
    """rich's status starts a refresh thread even off a terminal (re-rendering for nobody, ~0.05
    CPU-s a second of a piped `stock import`): `spinner` shows one only on a terminal."""
    import threading

    from cli.app import console, spinner

    assert not console.is_terminal  # pytest captures stdout
    before = threading.active_count()
    with spinner("reading stock levels…"):
        assert threading.active_count() == before
