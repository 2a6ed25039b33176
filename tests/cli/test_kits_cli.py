"""`marketsync kits …` and `stock explain KIT` through the CLI (both databases), bad input included."""

from __future__ import annotations

import json
from pathlib import Path

from store import tables
from sync.hub.context import Hub


def world(hub: Hub) -> None:
    """Variants MUG, SAUCER, SPOON, GIFT, BIG-GIFT (GIFT and BIG-GIFT listed on a woo account), NOTRACK untracked."""
    with hub.db.session() as session:
        account = tables.Account(name="woo", platform="woocommerce", options={})
        product = tables.Product(title="Tea set")
        session.add_all([account, product])
        session.flush()
        for sku in ("MUG", "SAUCER", "SPOON", "GIFT", "BIG-GIFT", "NOTRACK"):
            variant = tables.Variant(product_id=product.id, sku=sku, tracked=sku != "NOTRACK")
            session.add(variant)
            session.flush()
            if "GIFT" in sku:
                session.add(tables.Listing(account_id=account.id, variant_id=variant.id, external_product_id="1",
                                           external_variant_id=f"v-{sku}", channel_sku=sku))


def ok(cli, *args: str) -> str:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return str(result.output)


def refused(cli, *args: str) -> str:
    result = cli(*args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
    return lines[0]


def test_define_show_list_explain_and_remove(cli, hub: Hub) -> None:
    world(hub)
    for sku, units in (("MUG", "+12"), ("SAUCER", "+5"), ("SPOON", "+30")):
        ok(cli, "stock", "adjust", sku, units, "--reason", "count")
    shown = ok(cli, "kits", "define", "GIFT", "--component", "MUG:2", "--component", "SAUCER:1")
    assert "GIFT = MUG x 2, SAUCER x 1" in shown and "woo: publishes 5 (limited by SAUCER)" in shown
    data = json.loads(ok(cli, "kits", "define", "GIFT", "--component", "MUG:2", "--component", "SAUCER:1", "--json"))
    assert data["changed"] is False and data["accounts"][0]["published"] == 5
    ok(cli, "kits", "define", "BIG-GIFT", "--component", "GIFT:2", "--component", "SPOON:4")
    big = json.loads(ok(cli, "kits", "show", "BIG-GIFT", "--json"))
    assert big["leaves"] == [{"sku": "MUG", "quantity": 4}, {"sku": "SAUCER", "quantity": 2},
                             {"sku": "SPOON", "quantity": 4}]
    assert (big["accounts"][0]["published"], big["accounts"][0]["limiting"]) == (2, "SAUCER")
    assert json.loads(ok(cli, "kits", "list", "--json")) == [
        {"kit": "BIG-GIFT", "components": [{"sku": "GIFT", "quantity": 2}, {"sku": "SPOON", "quantity": 4}]},
        {"kit": "GIFT", "components": [{"sku": "MUG", "quantity": 2}, {"sku": "SAUCER", "quantity": 1}]}]
    explained = ok(cli, "stock", "explain", "GIFT")
    assert "a kit of MUG x 2, SAUCER x 1" in explained and "used in kit(s) BIG-GIFT" in explained
    assert "component SAUCER: available 5 ÷ 1 = 5 kit(s)  ← limiting" in explained
    assert json.loads(ok(cli, "stock", "explain", "GIFT", "--json"))["accounts"][0]["limiting"] == "SAUCER"
    assert "is a component of BIG-GIFT" in refused(cli, "kits", "remove", "GIFT")
    assert "MUG is not a kit; it is a component of GIFT" in refused(cli, "kits", "remove", "MUG")
    assert "removed SPOON from kit BIG-GIFT" in ok(cli, "kits", "remove", "BIG-GIFT", "--component", "SPOON")
    ok(cli, "kits", "remove", "BIG-GIFT")
    ok(cli, "kits", "remove", "GIFT")
    assert json.loads(ok(cli, "kits", "list", "--json")) == []
    after = json.loads(ok(cli, "stock", "explain", "BIG-GIFT", "--json"))  # never had stock of its own
    assert after["accounts"][0]["published"] == 0 and after["kit_components"] == []


def test_bad_definitions_are_one_clear_line(cli, hub: Hub) -> None:
    world(hub)
    ok(cli, "kits", "define", "GIFT", "--component", "MUG:2")
    ok(cli, "kits", "define", "BIG-GIFT", "--component", "GIFT:1")
    assert "kit GIFT cannot contain itself: GIFT → BIG-GIFT → GIFT" in refused(
        cli, "kits", "define", "GIFT", "--component", "BIG-GIFT:1")
    assert "unknown SKU 'TEAPOT'" in refused(cli, "kits", "define", "GIFT", "--component", "TEAPOT:1")
    assert "unknown SKU 'NOKIT'" in refused(cli, "kits", "define", "NOKIT", "--component", "MUG:1")
    assert "NOTRACK (a component of GIFT) is not stock-tracked" in refused(
        cli, "kits", "define", "GIFT", "--component", "NOTRACK:1")
    assert "must be SKU:QTY" in refused(cli, "kits", "define", "GIFT", "--component", "MUG")
    assert "units per kit must be 1 or more" in refused(cli, "kits", "define", "GIFT", "--component", "MUG:0")
    assert "SPOON is not a kit; define it with" in refused(cli, "kits", "show", "SPOON")
    assert "GIFT is a kit: its stock is its components'" in refused(cli, "stock", "adjust", "GIFT", "+1",
                                                                    "--reason", "x")


def test_import_defines_all_kits_of_a_file_or_none(cli, hub: Hub, tmp_path: Path) -> None:
    world(hub)
    good = tmp_path / "kits.csv"
    good.write_text("kit,component,quantity\nGIFT,MUG,2\nGIFT,SAUCER,1\nBIG-GIFT,GIFT,2\nBIG-GIFT,SPOON,1\n")
    assert "2 kit(s) defined, 0 unchanged" in ok(cli, "kits", "import", str(good))
    assert json.loads(ok(cli, "kits", "import", str(good), "--json"))["unchanged"] == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("kit,component,quantity\nSET,MUG,1\nGIFT,SPOON,x\nGIFT,TEAPOT,1\n")
    result = cli("kits", "import", str(bad))
    assert result.exit_code == 1
    assert "line 3: component 'SPOON:x': 'x' is not a whole number" in result.output
    assert "no kit was changed" in result.output
    cycle = tmp_path / "cycle.csv"
    cycle.write_text("kit,component,quantity\nSPOON,MUG,1\nGIFT,BIG-GIFT,1\n")
    result = cli("kits", "import", str(cycle), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"] == [
        {"line": 3, "error": "kit GIFT: kit GIFT cannot contain itself: GIFT → BIG-GIFT → GIFT"}]
    assert [k["kit"] for k in json.loads(ok(cli, "kits", "list", "--json"))] == ["BIG-GIFT", "GIFT"]  # SPOON untouched
    assert "lacks column(s) quantity" in refused(cli, "kits", "import", str(_header_only(tmp_path)))


def _header_only(tmp_path: Path) -> Path:
    path = tmp_path / "short.csv"
    path.write_text("kit,component\nGIFT,MUG\n")
    return path
