"""The operator's view through the real CLI: import, refresh, the inbox, resolutions (one and bulk),
catalogue lookups and a listing push dry run."""

from __future__ import annotations

import json

from tests.sync.catalog_world import World, sandboxes_fixture, world_fixture  # noqa: F401 - fixtures


def run(cli, *args: str) -> str:  # type: ignore[no-untyped-def]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return str(result.output)


def test_inbox_from_import_to_resolution(cli, world: World) -> None:  # type: ignore[no-untyped-def]
    assert json.loads(run(cli, "catalog", "import", "--from", "woo", "--json"))["variants_created"] == 6
    world.make_problems()
    assert "conflicts list" in run(cli, "catalog", "refresh", "shop")
    rows = json.loads(run(cli, "conflicts", "list", "--json"))
    assert sorted(r["kind"] for r in rows) == ["duplicate_sku", "duplicate_sku", "sku_barcode_mismatch",
                                               "unmatched_listing"]
    assert "unmatched_listing" in run(cli, "conflicts", "list", "--account", "shop")
    unmatched = next(r for r in rows if r["kind"] == "unmatched_listing")
    shown = json.loads(run(cli, "conflicts", "show", str(unmatched["id"]), "--json"))
    assert shown["evidence"]["channel"]["sku"] == "LOCAL-ONLY"
    assert {s["resolution"] for s in shown["suggestions"]} >= {"create", "ignore"}

    wrong = cli("conflicts", "resolve", str(unmatched["id"]), "--keep-hub")
    assert wrong.exit_code == 1 and wrong.output.count("\n") == 1
    assert "fitting: --link, --create, --ignore" in wrong.output

    done = run(cli, "conflicts", "resolve", str(unmatched["id"]), "--ignore", "--note", "local item", "--by", "alice")
    assert "resolved with ignore" in done
    assert "already ignored" in run(cli, "conflicts", "resolve", str(unmatched["id"]), "--ignore")
    history = json.loads(run(cli, "conflicts", "show", str(unmatched["id"]), "--json"))["history"]
    resolved = [h for h in history if h["action"] == "conflict.resolve"]
    assert resolved[0]["actor"] == "alice" and resolved[0]["detail"]["note"] == "local item"
    assert [r["id"] for r in json.loads(run(cli, "conflicts", "list", "--status", "ignored", "--json"))] == \
        [unmatched["id"]]

    planned = json.loads(run(cli, "conflicts", "resolve", "--kind", "sku_barcode_mismatch", "--rule", "barcode",
                             "--dry-run", "--json"))
    assert [p["would"] for p in planned] == ["link MS-0003-1"] and not planned[0]["applied"]
    applied = json.loads(run(cli, "conflicts", "resolve", "--kind", "sku_barcode_mismatch", "--rule", "barcode",
                             "--json"))
    assert applied[0]["applied"]

    shown_variant = json.loads(run(cli, "catalog", "show", "MS-0003-1", "--json"))
    accounts = sorted((r["account"], r["mapped"]) for r in shown_variant["listings"])
    assert accounts == [("shop", False), ("shop", False), ("shop", True), ("woo", True)]
    assert len(json.loads(run(cli, "catalog", "list", "--json"))) == 6


def test_listing_push_dry_run_prints_the_diff(cli, world: World) -> None:  # type: ignore[no-untyped-def]
    run(cli, "catalog", "import", "--from", "woo")
    world.edit("woo", "MS-0001-1", product_title="Renamed on the channel")
    world.woo.writes.clear()
    out = json.loads(run(cli, "listings", "push", "--account", "woo", "--sku", "MS-0001-1", "--dry-run", "--json"))
    assert out["dry_run"] and out["counts"] == {"conflict": 1}
    [change] = out["listings"][0]["changes"]
    assert (change["field"], change["channel"], change["hub"]) == ("title", "Renamed on the channel", "Product 0001")
    assert world.woo.writes.entries() == []
    assert "dry run: nothing sent" in run(cli, "listings", "push", "--account", "woo", "--dry-run")
    assert run(cli, "conflicts", "list", "--json").strip() == "[]"
